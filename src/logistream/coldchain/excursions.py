"""Temperature excursions of one trip, from its readings in any order.

The same semantics as the speed layer's temperature rule, so the two can be reconciled:
- an excursion above the range starts at the first reading above the upper limit and lasts
  until a reading is back inside by the profile's hysteresis (readings in the hysteresis band
  neither start nor end one); below the range likewise; ``critical`` is the same for the hard
  limits;
- during a flagged defrost the upper limit is widened by the profile's allowance, for at most
  ``defrost_max_s`` from the start of the defrost (a longer defrost counts as an excursion);
- an excursion alarms once a reading still beyond the limit is ``alarm_delay`` after its start
  (critical: at once): ``alarm_at`` is when the speed layer should have raised its alert;
- time out of range sums the hold of every reading beyond the range (:mod:`timeline`), so gaps
  are capped and uneven sampling does not bias it; the budget alarm (``tor_budget``) fires at
  the reading at which the time out of range so far reaches the profile's budget.
- a reading that fails the sensor plausibility check (the speed layer's
  :mod:`logistream.speed.rules.plausibility`, the same test) stands for the air as last seen:
  it is no excursion of its own and does not enter MKT; before the trip's first plausible
  reading it stands for nothing;
- a critical excursion alarms once ``confirm_readings`` plausible readings beyond the hard limit
  were seen in it, the last at least ``confirm_s`` after its start (the speed layer's
  ``critical_confirm_*``); it ends as confirmed: at the ``confirm_readings``-th plausible
  reading back inside by the hysteresis since its last reading beyond the limit, at least
  ``clear_s`` after that one (``critical_clear_s``), so a shorter dip stays inside the
  excursion (the speed rule keeps its alert open over it).
Readings are ordered by (event time, event id) first: late and out-of-order rows take their
place in time, and a tie is broken the same way on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.coldchain.timeline import holds
from logistream.registry import CargoProfile

Kind = Literal["high", "low", "critical"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One archived reading, as far as temperature compliance cares."""

    t: float
    """Event time, Unix seconds."""
    temp: float
    defrost: bool = False
    event_id: str = ""
    lat: float | None = None
    lon: float | None = None
    door_open: bool = False


@dataclass(frozen=True, slots=True)
class Excursion:
    kind: Kind
    start: float
    end: float
    """Event time of the reading that ended it, or of the trip's last reading if ``ongoing``."""
    ongoing: bool
    peak_c: float
    """The reading furthest beyond the limit."""
    peak_at: float
    out_s: float
    """Time out of the limit within the excursion (holds of readings beyond it)."""
    alarm_at: float | None
    """When the alarm delay was reached by a reading still beyond the limit; None: too short."""
    lat: float | None
    lon: float | None

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Classified:
    """A sorted reading with what the rule sees in it."""

    sample: Sample
    weight_s: float
    uncovered_s: float
    high_c: float
    """The upper limit in force (widened during an allowed defrost)."""
    in_defrost: bool
    above: bool
    below: bool
    beyond_hard: bool
    plausible: bool = True
    temp: float | None = None
    """The temperature the rules see: the reading's own if plausible, else the last plausible
    one's (None before the trip's first plausible reading)."""


def plausible_at(sample: Sample, profile: CargoProfile, anchor: tuple[float, float] | None) -> bool:
    """The speed layer's plausibility test against the last plausible (time, °C)."""
    if not profile.sensor_min_c <= sample.temp <= profile.sensor_max_c:
        return False
    if anchor is None:
        return True
    rate = profile.max_rate_door_c_per_min if sample.door_open else profile.max_rate_c_per_min
    allowed = rate * max(sample.t - anchor[0], 0.0) / 60.0 + profile.rate_slack_c
    return abs(sample.temp - anchor[1]) <= allowed


def ordered(samples: Sequence[Sample]) -> list[Sample]:
    return sorted(samples, key=lambda s: (s.t, s.event_id))


def classify(
    samples: Sequence[Sample], profile: CargoProfile, hold_max_s: float
) -> list[Classified]:
    """Sort the readings and mark each against the profile's limits."""
    rows = ordered(samples)
    hs = holds([s.t for s in rows], hold_max_s)
    out: list[Classified] = []
    defrost_since: float | None = None
    anchor: tuple[float, float] | None = None
    for s, h in zip(rows, hs, strict=True):
        defrost_since = (defrost_since if defrost_since is not None else s.t) if s.defrost else None
        in_defrost = defrost_since is not None and s.t - defrost_since <= profile.defrost_max_s
        high = profile.high_c + profile.defrost_allowance_c if in_defrost else profile.high_c
        ok = plausible_at(s, profile, anchor)
        if ok:
            anchor = (s.t, s.temp)
        temp = anchor[1] if anchor is not None else None
        hard_hi, hard_lo = profile.hard_high_c, profile.hard_low_c
        beyond = temp is not None and (
            (hard_hi is not None and temp > hard_hi) or (hard_lo is not None and temp < hard_lo)
        )
        out.append(
            Classified(
                s,
                h.weight_s,
                h.uncovered_s,
                high,
                in_defrost,
                temp is not None and temp > high,
                temp is not None and temp < profile.low_c,
                beyond,
                ok,
                temp,
            )
        )
    return out


def _state(kind: Kind, c: Classified, profile: CargoProfile) -> bool | None:
    """True: beyond (starts or continues), False: back inside by the hysteresis, None: band."""
    t, hyst = c.temp, profile.hysteresis_c
    if t is None:
        return None
    if kind == "high":
        return True if c.above else (False if t <= c.high_c - hyst else None)
    if kind == "low":
        return True if c.below else (False if t >= profile.low_c + hyst else None)
    if c.beyond_hard:
        return True
    hi, lo = profile.hard_high_c, profile.hard_low_c
    inside = (hi is None or t <= hi - hyst) and (lo is None or t >= lo + hyst)
    return False if inside else None


def _violation(kind: Kind, c: Classified, profile: CargoProfile) -> float:
    t = c.temp
    if t is None:
        return float("-inf")
    if kind == "high":
        return t - c.high_c
    if kind == "low":
        return profile.low_c - t
    hi = t - profile.hard_high_c if profile.hard_high_c is not None else float("-inf")
    lo = profile.hard_low_c - t if profile.hard_low_c is not None else float("-inf")
    return max(hi, lo)


def _delay(kind: Kind, profile: CargoProfile) -> float:
    return {"high": profile.alarm_delay_high_s, "low": profile.alarm_delay_low_s}.get(kind, 0.0)


def extract(
    rows: Sequence[Classified],
    profile: CargoProfile,
    *,
    confirm_readings: int = DEFAULT_PARAMS.critical_confirm_readings,
    confirm_s: float = DEFAULT_PARAMS.critical_confirm_s,
    clear_s: float = DEFAULT_PARAMS.critical_clear_s,
) -> list[Excursion]:
    """Every excursion of the trip, ordered by start (then kind)."""
    confirm = (confirm_readings, confirm_s)
    clear = (confirm_readings, clear_s)
    found: list[Excursion] = []
    kinds: tuple[Kind, ...] = ("high", "low", "critical")
    for kind in kinds:
        current: list[Classified] = []
        in_exc = False
        last_beyond, back = 0.0, 0
        for i, c in enumerate(rows):
            state = _state(kind, c, profile)
            if kind == "critical" and state is not None:
                state, last_beyond, back = _critical_end(state, c, in_exc, last_beyond, back, clear)
            in_exc_now = state if state is not None else in_exc
            if in_exc_now:
                current.append(c)
            elif in_exc:
                found.append(_excursion(kind, current, rows[i].sample.t, False, profile, confirm))
                current = []
            in_exc = in_exc_now
        if current:
            found.append(_excursion(kind, current, current[-1].sample.t, True, profile, confirm))
    return sorted(found, key=lambda e: (e.start, e.kind))


def _critical_end(
    state: bool,
    c: Classified,
    in_exc: bool,
    last_beyond: float,
    back: int,
    clear: tuple[int, float],
) -> tuple[bool | None, float, int]:
    """A critical's state at ``c`` with its end confirmed (False only once confirmed, else None:
    as a band reading), and the time of the last reading beyond and the plausible readings back
    inside since it, carried to the next reading."""
    if state:
        return True, c.sample.t, 0
    if not in_exc:
        return False, last_beyond, back
    back += 1 if c.plausible else 0
    ended = c.plausible and back >= clear[0] and c.sample.t - last_beyond >= clear[1]
    return (False if ended else None), last_beyond, back


def _excursion(
    kind: Kind,
    rows: list[Classified],
    end: float,
    ongoing: bool,
    profile: CargoProfile,
    confirm: tuple[int, float],
) -> Excursion:
    first = rows[0]
    start = first.sample.t
    beyond = [c for c in rows if _state(kind, c, profile) is True]
    peak = max(beyond, key=lambda c: (_violation(kind, c, profile), -c.sample.t))
    if kind == "critical":
        # Confirmed by plausible readings only: the n-th one, at least confirm_s after the start.
        plausible = [c.sample.t for c in beyond if c.plausible]
        due = [t for n, t in enumerate(plausible, 1) if n >= confirm[0] and t - start >= confirm[1]]
    else:
        delay = _delay(kind, profile)
        due = [c.sample.t for c in beyond if c.sample.t - start >= delay]
    return Excursion(
        kind=kind,
        start=start,
        end=end,
        ongoing=ongoing,
        peak_c=peak.temp if peak.temp is not None else peak.sample.temp,
        peak_at=peak.sample.t,
        out_s=sum(c.weight_s for c in beyond),
        alarm_at=min(due) if due else None,
        lat=first.sample.lat,
        lon=first.sample.lon,
    )


def tor_alarm_at(rows: Sequence[Classified], profile: CargoProfile) -> float | None:
    """Event time of the reading at which time out of range reached the budget, if it did."""
    if profile.tor_budget_s <= 0:
        return None
    so_far = 0.0
    for c in rows:
        if so_far >= profile.tor_budget_s:
            return c.sample.t
        if c.above or c.below:
            so_far += c.weight_s
    return None


@dataclass(frozen=True, slots=True)
class SensorFault:
    """A run of consecutive readings that failed the plausibility check."""

    start: float
    end: float
    """Event time of the next plausible reading, or of the run's last reading if ``ongoing``."""
    ongoing: bool
    readings: int
    min_c: float
    max_c: float
    """The implausible values themselves (what maintenance looks for)."""
    last_good_c: float | None
    """The temperature the rules saw meanwhile (the last plausible reading's)."""


def sensor_faults(rows: Sequence[Classified]) -> list[SensorFault]:
    """The trip's sensor-fault intervals, in time order."""
    found: list[SensorFault] = []
    run: list[Classified] = []
    ends: list[Classified | None] = [*rows, None]
    for c in ends:
        if c is not None and not c.plausible:
            run.append(c)
            continue
        if run:
            temps = [r.sample.temp for r in run]
            found.append(
                SensorFault(
                    start=run[0].sample.t,
                    end=c.sample.t if c is not None else run[-1].sample.t,
                    ongoing=c is None,
                    readings=len(run),
                    min_c=min(temps),
                    max_c=max(temps),
                    last_good_c=run[0].temp,
                )
            )
            run = []
    return found
