"""Rising (or falling) trend: warn while the recent slope predicts leaving the range soon.

A least-squares slope over the last few minutes of readings, sampled sparsely so the state stays
small; the warning holds until the prediction moves well beyond the horizon (no flapping) or the
range is actually left (the excursion rules take over).

Noise: a cheap probe reads with a Gaussian noise of about 0.6 °C, and over a 15-minute window the
fitted slope then scatters by about 1.2 °C/h on a steady truck, more than the minimum slope. So
the warning opens only on a rise that is statistically clear: the slope's one-sided lower
confidence bound (its standard error from the fit's residuals, times a Student t quantile) must
reach the minimum slope, and that bound, carried on from where the fitted line stands now (not
the newest, noisy reading), must still leave the range within the horizon. The samples are
taken ``sample_s`` apart, long enough for a probe's noise to be independent from one to the
next, as the standard error assumes. An open warning holds while the fitted slope itself still
predicts a breach within ``clear_factor`` horizons: the bound only decides when to speak up.

Readings taken with the door open are left out, and the window starts afresh when it closes: the
air warms in minutes at every delivery stop and cools back after, which predicts nothing about
the reefer (a door left open is the door rule's alert). A warning already open holds meanwhile,
until the fresh window is long enough to judge again.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import msgspec

from logistream.events import Reading
from logistream.registry.models import CargoProfile
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
    # Sums over lists rather than generators: the same additions in the same order (so the
    # same floats to the last bit), without a generator frame per sample; the rules fit every
    # reading's window three times, and this was the speed layer's hottest loop.
    n = len(points)
    mt = sum([x for x, _ in points]) / n
    mv = sum([v for _, v in points]) / n
    var = sum([(x - mt) ** 2 for x, _ in points])
    if n < 2 or var == 0:
        return LineFit(0.0, mv, mv, mv)
    slope = sum([(x - mt) * (v - mv) for x, v in points]) / var
    return LineFit(slope, mv, mv + slope * (points[0][0] - mt), mv + slope * (points[-1][0] - mt))


def slope_se(points: tuple[tuple[float, float], ...], fit: LineFit) -> float:
    """Standard error of the fitted slope (°C/s) from the residuals; inf below three samples."""
    n = len(points)
    mt = sum([x for x, _ in points]) / n
    sxx = sum([(x - mt) ** 2 for x, _ in points])
    if n < 3 or sxx == 0:
        return math.inf
    rss = sum([(v - fit.mean_c - fit.slope_per_s * (t - mt)) ** 2 for t, v in points])
    return math.sqrt(rss / (n - 2) / sxx)


def t_quantile(confidence: float, dof: int) -> float:
    """The one-sided Student t quantile: the normal one with the Cornish-Fisher correction
    (Abramowitz & Stegun 26.7.5), within 0.01 of the exact value at 95 % from 3 degrees of
    freedom (2.353) and exact as they grow. Far in the tail with very few samples it is
    somewhat low, but a window is judged with at least ``min_points`` samples spanning minutes;
    a normal quantile alone would be bolder still."""
    z = NormalDist().inv_cdf(confidence)
    v = float(max(dof, 1))
    z3, z5, z7 = z**3, z**5, z**7
    return (
        z
        + (z3 + z) / (4 * v)
        + (5 * z5 + 16 * z3 + 3 * z) / (96 * v**2)
        + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v**3)
    )


class Prediction(NamedTuple):
    limit: float
    """The limit the drift heads for."""
    eta_sure: float | None
    """Seconds to it with the slope's confidence bound (None: the rise is not clear)."""
    eta_fit: float | None
    """Seconds to it with the fitted slope."""


def predict(
    points: tuple[tuple[float, float], ...],
    ts: float,
    t: float,
    p: CargoProfile,
    min_slope_c_per_h: float,
    confidence: float,
) -> Prediction | None:
    """When the drift over ``points`` leaves the range, seen at ``ts`` with reading ``t``
    (None: no drift away from the setpoint of at least the minimum slope)."""
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
    if not away or abs(slope) * 3600.0 < min_slope_c_per_h:
        return None
    limit = p.high_c if slope > 0 else p.low_c
    # Where the fitted line stands now: one noisy reading is no level to start from.
    level = fit.last_c + slope * (ts - points[-1][0])
    gap = limit - level if slope > 0 else level - limit
    # The rise the samples support at this confidence: a lower bound on |slope|.
    sure = abs(slope) - t_quantile(confidence, len(points) - 2) * slope_se(points, fit)
    eta_sure = gap / sure if sure * 3600.0 >= min_slope_c_per_h else None
    return Prediction(limit, eta_sure, gap / abs(slope))


def _sooner(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


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

    inside = p.low_c <= t <= p.high_c
    judged = len(points) >= cfg.min_points and points[-1][0] - points[0][0] >= cfg.min_span_s
    guess: Prediction | None = None
    if judged:
        # The whole window, and its newest part spanning each sub-window: a reefer that fails
        # mid-window shows its slope there minutes before the flat readings before the failure
        # stop diluting the whole window's. Each look is a test, so the confidence is split
        # between them (Bonferroni); a short window's wider bound keeps it quiet on noise.
        looks = [points]
        for span in cfg.sub_windows_s:
            newest = points[-1][0]
            part = tuple(pt for pt in points if newest - pt[0] <= span)
            if (
                cfg.min_points <= len(part) < len(points)
                and part[-1][0] - part[0][0] >= min(span, cfg.min_span_s) - cfg.sample_s
            ):
                looks.append(part)
        confidence = 1.0 - (1.0 - cfg.confidence) / (1 + len(cfg.sub_windows_s))
        for look in looks:
            seen = predict(look, ts, t, p, cfg.min_slope_c_per_h, confidence)
            if seen is None:
                continue
            if guess is None:
                guess = seen
            elif seen.limit == guess.limit:
                # The soonest breach any look predicts (the open warning holds on it too).
                guess = Prediction(
                    guess.limit,
                    _sooner(guess.eta_sure, seen.eta_sure),
                    _sooner(guess.eta_fit, seen.eta_fit),
                )
    # Seconds to the predicted breach: with the slope's confidence bound (opens the warning),
    # and with the fitted slope itself (holds an open one).
    limit = guess.limit if guess is not None else p.high_c
    eta = guess.eta_sure if guess is not None else None
    eta_fit = guess.eta_fit if guess is not None else None

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
        not inside or (judged and (eta_fit is None or eta_fit > cfg.horizon_s * cfg.clear_factor))
    ):
        warning = False
        why = "left the range" if not inside else "trend eased"
        verdicts = (Clear("temp_rising", ts, f"{why}, at {t:.1f} °C"),)
    if points is s.points and warning == s.warning:
        return s, verdicts
    return TrendState(points=points, warning=warning), verdicts
