"""Fuel efficiency of one trip: consumption, L/100 km, reefer L/h, refuels and suspected thefts.

Fuel gauges report % of tank with noise of a few tenths of a litre per reading, so levels are
first smoothed with a trailing mean over ``fuel_smooth_s`` (readings in ``[t - window, t]``) and
only then differenced; litres come from the truck's tank size in the registry. Between two
consecutive readings:
- a rise faster than ``refuel_rate_l_per_min`` is refuelling; readings within
  ``event_merge_s`` of such steps form one refuel, counted when it adds at least ``refuel_min_l``;
- a fall faster than consumption can explain (``drive_l_per_km_max`` per GPS km plus
  ``idle_l_per_h``) by more than ``theft_rate_l_per_min`` is unexplained; readings within
  ``event_merge_s`` of such steps form one suspected theft when its unexplained litres reach
  ``theft_min_l``.
Consumption = level at the start - level at the end + refuelled - stolen (both engine and
reefer); L/100 km divides it by the GPS distance, in which a jump no truck can drive
(:func:`step_km`) counts none. Reefer L/h is measured while parked with the reefer on, away from
refuels and thefts (by the smoothing window): the reefer is the main consumer there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logistream.coldchain.params import BatchParams
from logistream.geo import haversine_km


@dataclass(frozen=True, slots=True)
class FuelSample:
    t: float
    fuel_pct: float | None
    speed_kmh: float | None = None
    lat: float | None = None
    lon: float | None = None
    reefer_on: bool | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class FuelEvent:
    kind: str
    """``refuel`` or ``theft``."""
    start: float
    end: float
    litres: float
    """Added (refuel) or lost (theft)."""
    unexplained_l: float
    """Theft: litres lost beyond what consumption explains (0 for a refuel)."""
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class FuelSummary:
    distance_km: float
    start_l: float | None
    end_l: float | None
    consumed_l: float | None
    l_per_100km: float | None
    refuelled_l: float
    refuels: int
    stolen_l: float
    thefts: int
    reefer_hours: float
    reefer_l_per_h: float | None
    events: tuple[FuelEvent, ...]


def segment_km(
    prev: tuple[float | None, float | None], cur: tuple[float | None, float | None]
) -> float:
    """GPS distance between two consecutive readings; 0 when either has no position."""
    (la1, lo1), (la2, lo2) = prev, cur
    if la1 is None or lo1 is None or la2 is None or lo2 is None:
        return 0.0
    return haversine_km(la1, lo1, la2, lo2)


def step_km(
    prev: tuple[float | None, float | None],
    cur: tuple[float | None, float | None],
    dt_s: float,
    p: BatchParams,
) -> float:
    """Distance driven between two consecutive readings ``dt_s`` apart: their GPS distance, or 0
    for a jump no truck can drive (faster than ``max_step_kmh`` beyond ``gps_slack_km``).

    A truck relocated between trips, or a wild fix, must not count hundreds of kilometres.
    """
    km = segment_km(prev, cur)
    if km > p.max_step_kmh * max(dt_s, 0.0) / 3600.0 + p.gps_slack_km:
        return 0.0
    return km


def smoothed(
    times: Sequence[float], levels: Sequence[float | None], window_s: float
) -> list[float | None]:
    """Trailing mean of the levels over ``[t - window_s, t]`` (readings at ``t`` all included)."""
    out: list[float | None] = []
    for t in times:
        vals = [
            v
            for tt, v in zip(times, levels, strict=True)
            if v is not None and t - window_s <= tt <= t
        ]
        out.append(sum(vals) / len(vals) if vals else None)
    return out


def _islands(flags: Sequence[bool]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, flag in enumerate(flags):
        if flag:
            if i > 0 and flags[i - 1]:
                runs[-1].append(i)
            else:
                runs.append([i])
    return runs


def _near(times: Sequence[float], flags: Sequence[bool], within_s: float) -> list[bool]:
    """Per reading: is a flagged reading at most ``within_s`` away (either side)?"""
    flagged = [t for t, f in zip(times, flags, strict=True) if f]
    return [any(abs(t - f) <= within_s for f in flagged) for t in times]


def trip_fuel(samples: Sequence[FuelSample], tank_litres: float, p: BatchParams) -> FuelSummary:
    rows = sorted(samples, key=lambda s: (s.t, s.event_id))
    times = [s.t for s in rows]
    smooth = smoothed(times, [s.fuel_pct for s in rows], p.fuel_smooth_s)
    n = len(rows)
    km = [0.0] + [
        step_km(
            (rows[i - 1].lat, rows[i - 1].lon),
            (rows[i].lat, rows[i].lon),
            times[i] - times[i - 1],
            p,
        )
        for i in range(1, n)
    ]
    dt = [0.0] + [times[i] - times[i - 1] for i in range(1, n)]
    d_l: list[float | None] = [None]
    for i in range(1, n):
        now, before = smooth[i], smooth[i - 1]
        d_l.append(
            (now - before) / 100.0 * tank_litres if now is not None and before is not None else None
        )
    expected = [p.drive_l_per_km_max * km[i] + p.idle_l_per_h * dt[i] / 3600.0 for i in range(n)]
    refuel = [
        d is not None and dt[i] > 0 and d >= p.refuel_rate_l_per_min * dt[i] / 60.0
        for i, d in enumerate(d_l)
    ]
    unexplained = [(-d - expected[i]) if d is not None else 0.0 for i, d in enumerate(d_l)]
    theft = [
        d_l[i] is not None and dt[i] > 0 and unexplained[i] >= p.theft_rate_l_per_min * dt[i] / 60.0
        for i in range(n)
    ]
    refuel_zone = _near(times, refuel, p.event_merge_s)
    theft_zone = _near(times, theft, p.event_merge_s)
    events: list[FuelEvent] = []
    for run in _islands(refuel_zone):
        litres = sum(d_l[i] or 0.0 for i in run)
        if litres >= p.refuel_min_l:
            events.append(FuelEvent("refuel", times[run[0]], times[run[-1]], litres, 0.0,
                                    rows[run[0]].lat, rows[run[0]].lon))  # fmt: skip
    for run in _islands(theft_zone):
        lost = -sum(d_l[i] or 0.0 for i in run)
        extra = sum(unexplained[i] for i in run)
        if extra >= p.theft_min_l:
            events.append(FuelEvent("theft", times[run[0]], times[run[-1]], lost, extra,
                                    rows[run[0]].lat, rows[run[0]].lon))  # fmt: skip
    events.sort(key=lambda e: (e.start, e.kind))
    refuelled = sum(e.litres for e in events if e.kind == "refuel")
    stolen = sum(e.litres for e in events if e.kind == "theft")
    known = [v for v in smooth if v is not None]
    start_l = known[0] / 100.0 * tank_litres if known else None
    end_l = known[-1] / 100.0 * tank_litres if known else None
    distance = sum(km)
    consumed = (
        start_l - end_l + refuelled - stolen if start_l is not None and end_l is not None else None
    )
    per_100 = consumed / distance * 100.0 if consumed is not None and distance >= 1.0 else None
    # The trailing mean smears an event over the window after it: keep clear of that too.
    near = _near(times, [a or b for a, b in zip(refuel, theft, strict=True)], p.fuel_smooth_s)
    reefer_s, reefer_l = 0.0, 0.0
    for i in range(1, n):
        s = rows[i]
        parked = s.speed_kmh is not None and s.speed_kmh <= p.parked_kmh
        d = d_l[i]
        if parked and s.reefer_on and d is not None and dt[i] > 0 and not near[i]:
            reefer_s += min(dt[i], p.hold_max_s)
            reefer_l -= d
    hours = reefer_s / 3600.0
    return FuelSummary(
        distance_km=distance,
        start_l=start_l,
        end_l=end_l,
        consumed_l=consumed,
        l_per_100km=per_100,
        refuelled_l=refuelled,
        refuels=sum(1 for e in events if e.kind == "refuel"),
        stolen_l=stolen,
        thefts=sum(1 for e in events if e.kind == "theft"),
        reefer_hours=hours,
        reefer_l_per_h=reefer_l / hours if hours >= p.reefer_min_h else None,
        events=tuple(events),
    )
