"""Route deviation: further than allowed from the truck's planned route (from the registry)."""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.geo import distance_to_polyline_km
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, RuleContext, Verdict


class RouteState(msgspec.Struct, frozen=True, kw_only=True):
    off_count: int = 0
    """Consecutive readings beyond the deviation distance."""
    deviating: bool = False


ON_ROUTE_STATE = RouteState()


def step(s: RouteState, r: Reading, ctx: RuleContext) -> tuple[RouteState, tuple[Verdict, ...]]:
    if r.lat is None or r.lon is None or ctx.route is None:
        return s, NO_VERDICTS
    cfg = ctx.config.route
    d = distance_to_polyline_km((r.lat, r.lon), ctx.route)
    if d > cfg.deviation_km:
        off = s.off_count + 1
        if off < cfg.min_readings:
            return RouteState(off_count=off, deviating=s.deviating), NO_VERDICTS
        raise_ = Raise(
            "route_deviation",
            r.event_id or "",
            r.timestamp,
            f"{d:.1f} km off the planned route",
            f"limit {cfg.deviation_km:g} km",
            value=d,
            threshold=cfg.deviation_km,
        )
        return RouteState(off_count=off, deviating=True), (raise_,)
    if d <= cfg.clear_km:
        if s.deviating:
            return ON_ROUTE_STATE, (Clear("route_deviation", r.timestamp, "back on the route"),)
        return (ON_ROUTE_STATE if s.off_count else s), NO_VERDICTS
    return (s if not s.off_count or s.deviating else ON_ROUTE_STATE), NO_VERDICTS
