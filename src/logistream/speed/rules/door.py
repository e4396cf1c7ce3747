"""Door open longer than allowed, or open while the truck moves."""

from __future__ import annotations

import msgspec

from logistream.events import Reading
from logistream.speed.rules.base import (
    NO_VERDICTS,
    Clear,
    Raise,
    RuleContext,
    Verdict,
    beyond,
    minutes,
)


class DoorState(msgspec.Struct, frozen=True, kw_only=True):
    open_since: float | None = None
    alerting: bool = False
    """The condition was met during this opening: the alert resolves when the door closes."""


CLOSED = DoorState()


def step(s: DoorState, r: Reading, ctx: RuleContext) -> tuple[DoorState, tuple[Verdict, ...]]:
    if r.door_open is None:
        return s, NO_VERDICTS
    ts = r.timestamp
    if not r.door_open:
        if s.open_since is None:
            return s, NO_VERDICTS
        verdicts: tuple[Verdict, ...] = NO_VERDICTS
        if s.alerting:
            what = f"door closed after {minutes(ts - s.open_since)} min"
            verdicts = (Clear("door_open", ts, what),)
        return CLOSED, verdicts
    cfg = ctx.config.door
    since = s.open_since if s.open_since is not None else ts
    moving = r.speed_kmh is not None and r.speed_kmh > cfg.moving_kmh
    long_open = ts - since >= cfg.open_max_s
    if not (moving or long_open):
        return (s if s.open_since == since else DoorState(open_since=since)), NO_VERDICTS
    if moving:
        shown = beyond(r.speed_kmh or 0.0, cfg.moving_kmh, above=True, digits=0)
        what = f"door open while moving at {shown} km/h"
        raise_ = Raise(
            "door_open",
            r.event_id or "",
            ts,
            what,
            "stop and close it",
            severity="major",
            value=r.speed_kmh,
            threshold=cfg.moving_kmh,
        )
    else:
        what = f"door open for {minutes(ts - since)} min"
        raise_ = Raise(
            "door_open",
            r.event_id or "",
            ts,
            what,
            f"limit {minutes(cfg.open_max_s)} min",
            value=(ts - since) / 60.0,
            threshold=cfg.open_max_s / 60.0,
        )
    state = (
        s if (s.open_since == since and s.alerting) else DoorState(open_since=since, alerting=True)
    )
    return state, (raise_,)
