"""Rising (or falling) trend: warn while the recent slope predicts leaving the range soon.

A least-squares slope over the last few minutes of readings, sampled sparsely so the state stays
small; the warning holds until the prediction moves well beyond the horizon (no flapping) or the
range is actually left (the excursion rules take over).

Readings taken with the door open are left out, and the window starts afresh when it closes: the
air warms in minutes at every delivery stop and cools back after, which predicts nothing about
the reefer (a door left open is the door rule's alert). A warning already open holds meanwhile,
until the fresh window is long enough to judge again.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from logistream.events import Reading
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, RuleContext, Verdict, minutes


class TrendState(msgspec.Struct, frozen=True, kw_only=True):
    points: tuple[tuple[float, float], ...] = ()
    """(event time, °C) samples within the window, oldest first."""
    warning: bool = False


class LineFit(NamedTuple):
    slope_per_s: float
    """°C per second (0 for fewer than two distinct times)."""
    mean_c: float
    """The samples' mean."""
    first_c: float
    """The fitted line at the window's first sample."""
    last_c: float
    """The fitted line at the window's newest sample."""


def line_fit(points: tuple[tuple[float, float], ...]) -> LineFit:
    """Least-squares line through the (time, °C) samples (at least one)."""
    n = len(points)
    mt = sum(p[0] for p in points) / n
    mv = sum(p[1] for p in points) / n
    var = sum((p[0] - mt) ** 2 for p in points)
    if n < 2 or var == 0:
        return LineFit(0.0, mv, mv, mv)
    slope = sum((p[0] - mt) * (p[1] - mv) for p in points) / var
    return LineFit(slope, mv, mv + slope * (points[0][0] - mt), mv + slope * (points[-1][0] - mt))


def step(
    s: TrendState, r: Reading, ctx: RuleContext, excursion: bool
) -> tuple[TrendState, tuple[Verdict, ...]]:
    """``excursion``: the temperature rules see the truck out of range (with hysteresis)."""
    cfg, p = ctx.config.trend, ctx.profile
    if p.name in cfg.skip_profiles:
        return s, NO_VERDICTS
    ts, t = r.timestamp, r.temp
    if r.defrost:
        # A defrost heats on purpose; its slope predicts nothing. Start afresh after it.
        if s.warning:
            return TrendState(), (Clear("temp_rising", ts, f"defrosting, at {t:.1f} °C"),)
        return (s if not s.points else TrendState()), NO_VERDICTS
    if r.door_open:
        return (s if not s.points else TrendState(warning=s.warning)), NO_VERDICTS
    points = s.points
    if not points or ts - points[-1][0] >= cfg.sample_s:
        points = (*points, (ts, t))
    cutoff = ts - cfg.window_s
    if points[0][0] < cutoff:
        points = tuple(pt for pt in points if pt[0] >= cutoff)

    eta: float | None = None
    limit = p.high_c
    inside = p.low_c <= t <= p.high_c
    judged = len(points) >= cfg.min_points and points[-1][0] - points[0][0] >= cfg.min_span_s
    if judged:
        fit = line_fit(points)
        slope = fit.slope_per_s
        # Only a drift away from the setpoint warns: the fitted line must end further from it
        # than it began (a recovery that crosses the setpoint by a hair is no drift), and the
        # newest reading must sit on the trend's side of the window's mean (a V-shaped
        # recovery has a slope pointing the wrong way).
        drifting = abs(fit.last_c - p.setpoint_c) > abs(fit.first_c - p.setpoint_c)
        away = drifting and (
            (slope > 0 and t > p.setpoint_c and t > fit.mean_c)
            or (slope < 0 and t < p.setpoint_c and t < fit.mean_c)
        )
        if away and abs(slope) * 3600.0 >= cfg.min_slope_c_per_h:
            limit = p.high_c if slope > 0 else p.low_c
            eta = (limit - t) / slope if inside else 0.0

    verdicts: tuple[Verdict, ...] = NO_VERDICTS
    warning = s.warning
    # While an excursion lasts (until back inside by the hysteresis) the excursion rules speak.
    if inside and not excursion and eta is not None and eta <= cfg.horizon_s:
        warning = True
        direction = "rising" if limit == p.high_c else "falling"
        verdicts = (
            Raise(
                "temp_rising",
                r.event_id or "",
                ts,
                f"at {t:.1f} °C and {direction}, {limit:g} °C predicted in {minutes(eta)} min",
                "act now: check the reefer and doors",
                value=t,
                threshold=limit,
            ),
        )
    elif s.warning and (
        not inside or (judged and (eta is None or eta > cfg.horizon_s * cfg.clear_factor))
    ):
        warning = False
        why = "left the range" if not inside else "trend eased"
        verdicts = (Clear("temp_rising", ts, f"{why}, at {t:.1f} °C"),)
    if points is s.points and warning == s.warning:
        return s, verdicts
    return TrendState(points=points, warning=warning), verdicts
