"""Sensor plausibility: a reading the cargo's air cannot have produced is a sensor fault.

Two tests per cargo profile (registry): the probe's absolute range, and the fastest rate at which
the air of a loaded reefer can really change, measured from the last plausible reading (so the
reading after a one-reading spike, back at the old value, is plausible again, and a value the
probe sticks at becomes plausible once enough time has passed for the air to have got there).
An implausible reading drives no temperature rule; it opens ``sensor_fault``, which resolves at
the next plausible reading. The batch views apply the same test (``batch_plausible`` in SQL,
:func:`is_plausible` in the pure maths) so that both layers leave the same readings out.
"""

from __future__ import annotations

import msgspec

from logistream.registry import CargoProfile
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, Verdict, beyond

RULE = "sensor_fault"


class PlausState(msgspec.Struct, frozen=True, kw_only=True):
    anchor_ts: float | None = None
    """Event time of the last plausible reading of the trip."""
    anchor_c: float | None = None
    trip: str | None = None
    fault: bool = False
    """Whether the previous reading was implausible (``sensor_fault`` is open)."""


def allowed_change_c(profile: CargoProfile, elapsed_s: float, door_open: bool) -> float:
    """The largest change of the air temperature that is physically plausible in ``elapsed_s``."""
    rate = profile.max_rate_door_c_per_min if door_open else profile.max_rate_c_per_min
    return rate * max(elapsed_s, 0.0) / 60.0 + profile.rate_slack_c


def fault_of(
    profile: CargoProfile,
    temp: float,
    ts: float,
    door_open: bool,
    anchor_ts: float | None,
    anchor_c: float | None,
) -> str | None:
    """Why the reading is implausible (a phrase for the message), or None when it is plausible."""
    if not profile.sensor_min_c <= temp <= profile.sensor_max_c:
        high = temp > profile.sensor_max_c
        edge = profile.sensor_max_c if high else profile.sensor_min_c
        return (
            f"{beyond(temp, edge, above=high)} °C is outside the probe's range "
            f"{profile.sensor_min_c:g}..{profile.sensor_max_c:g} °C"
        )
    if anchor_ts is None or anchor_c is None:
        return None
    elapsed = ts - anchor_ts
    allowed = allowed_change_c(profile, elapsed, door_open)
    if abs(temp - anchor_c) > allowed:
        return (
            f"{temp:.1f} °C, {temp - anchor_c:+.1f} °C in {elapsed:.0f} s since {anchor_c:.1f} °C "
            f"(at most {allowed:.1f} °C is physically possible)"
        )
    return None


def is_plausible(
    profile: CargoProfile,
    temp: float,
    ts: float,
    door_open: bool,
    anchor_ts: float | None,
    anchor_c: float | None,
) -> bool:
    return fault_of(profile, temp, ts, door_open, anchor_ts, anchor_c) is None


def _bound(
    profile: CargoProfile,
    temp: float,
    ts: float,
    door_open: bool,
    anchor_ts: float | None,
    anchor_c: float | None,
) -> float:
    """The plausible value nearest to an implausible reading (the alert's threshold)."""
    if temp > profile.sensor_max_c:
        return profile.sensor_max_c
    if temp < profile.sensor_min_c or anchor_ts is None or anchor_c is None:
        return profile.sensor_min_c
    allowed = allowed_change_c(profile, ts - anchor_ts, door_open)
    return anchor_c + allowed if temp > anchor_c else anchor_c - allowed


def step(
    s: PlausState,
    *,
    profile: CargoProfile,
    temp: float,
    ts: float,
    door_open: bool,
    trip: str | None,
    event_id: str,
) -> tuple[PlausState, bool, tuple[Verdict, ...]]:
    """The state after one in-order reading, whether the reading is plausible, and the verdicts.

    The anchor is per trip, like the batch views' readings (a new trip starts without one).
    """
    anchor_ts, anchor_c = (s.anchor_ts, s.anchor_c) if trip == s.trip else (None, None)
    why = fault_of(profile, temp, ts, door_open, anchor_ts, anchor_c)
    if why is not None:
        verdict = Raise(
            RULE,
            event_id,
            ts,
            f"implausible reading {why}",
            "check the temperature probe, its cable and connector",
            value=temp,
            threshold=_bound(profile, temp, ts, door_open, anchor_ts, anchor_c),
        )
        new = PlausState(anchor_ts=anchor_ts, anchor_c=anchor_c, trip=trip, fault=True)
        return new, False, (verdict,)
    verdicts: tuple[Verdict, ...] = NO_VERDICTS
    if s.fault:
        verdicts = (Clear(RULE, ts, f"readings plausible again, at {temp:.1f} °C"),)
    return PlausState(anchor_ts=ts, anchor_c=temp, trip=trip, fault=False), True, verdicts
