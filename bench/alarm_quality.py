"""Alarm-quality maths: how well the alerts a run raised match what its scenario expects. Pure.

The inputs are plain data (the alerts a run opened, the scenario's expected and allowed
(truck, rule) pairs, the trucks its faults touch), so the definitions below are unit-tested
without a simulator. The figures, summed over runs by :class:`Tally`:

- **recall**: expected (truck, rule) pairs that opened at least one alert / expected pairs.
- **precision** of major and critical alerts: their alert ids whose (truck, rule) the scenario
  expects / all major and critical alert ids raised. A pair the scenario only allows (a
  tolerated side effect, ``[[allow]]``) counts on neither side: neither a hit nor a false alarm.
- **warnings on healthy trucks**: alert ids of any severity opened on a truck for which the
  scenario expects or allows no alert (a clean truck, or one whose fault must raise nothing,
  such as a noisy but healthy probe).
- **duplicates**: an alert opened for the same truck, rule and trip as an earlier alert while
  that one was still open, or less than :data:`DUPLICATE_WINDOW_S` after it resolved. Harsh
  braking and acceleration are left out: each is an instantaneous event, its own cause.
- **trend lead time**: for a truck where the scenario expects both ``temp_rising`` and an
  excursion (``temp_high``, ``temp_low`` or ``temp_critical``), the minutes from the first
  ``temp_rising`` opening to the first reading outside the cargo's range (negative: late).
  Beside it, the **alarm lead**: to the first opening of the excursion alert itself, which
  waits for the profile's alarm delay (what a dispatcher sees as the warning's head start).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DUPLICATE_WINDOW_S = 30 * 60.0
"""A re-opening this soon after the previous alert of the same truck, rule and trip resolved
is the same cause flapping, not a new one."""
EVENT_RULES = frozenset({"harsh_braking", "harsh_acceleration"})
"""Rules whose every alert is a separate instantaneous event: never duplicates."""
SEVERE = frozenset({"major", "critical"})
TREND_RULE = "temp_rising"
EXCURSION_RULES = frozenset({"temp_high", "temp_low", "temp_critical"})

Pair = tuple[str, str]
"""(truck_id, rule)"""


@dataclass(frozen=True, slots=True)
class Raised:
    """One alert (one alert id) as a run raised it."""

    alert_id: str
    truck: str
    rule: str
    severity: str
    opened_at: float
    trip: str | None = None
    resolved_at: float | None = None
    """None: still open at the end of the run."""

    @property
    def pair(self) -> Pair:
        return (self.truck, self.rule)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a scenario specifies for one run: pairs expected and allowed, trucks it names."""

    expected: frozenset[Pair]
    allowed: frozenset[Pair] = frozenset()
    named_trucks: frozenset[str] = frozenset()
    """Trucks with an expected or allowed alert; every other truck is healthy."""


def missed(raised: Iterable[Raised], spec: Expectation) -> list[Pair]:
    """Expected pairs that opened no alert."""
    seen = {a.pair for a in raised}
    return sorted(spec.expected - seen)


def severe(raised: Iterable[Raised], spec: Expectation) -> tuple[list[Raised], list[Raised]]:
    """Major and critical alerts, split into (expected, unexpected); allowed-only pairs dropped."""
    good, bad = [], []
    for a in raised:
        if a.severity not in SEVERE:
            continue
        if a.pair in spec.expected:
            good.append(a)
        elif a.pair not in spec.allowed:
            bad.append(a)
    return good, bad


def on_healthy(raised: Iterable[Raised], spec: Expectation) -> list[Raised]:
    """Alerts of any severity on trucks the scenario does not name."""
    return [a for a in raised if a.truck not in spec.named_trucks]


def duplicates(raised: Iterable[Raised], window_s: float = DUPLICATE_WINDOW_S) -> list[Raised]:
    """Alerts that re-open a cause (see the module docstring), in opening order."""
    by_cause: dict[tuple[str, str, str | None], list[Raised]] = defaultdict(list)
    for a in raised:
        if a.rule not in EVENT_RULES:
            by_cause[(a.truck, a.rule, a.trip)].append(a)
    found = []
    for alerts in by_cause.values():
        alerts.sort(key=lambda a: (a.opened_at, a.alert_id))
        # The latest end so far among earlier alerts (None: one is still open).
        ended: float | None = -float("inf")
        for i, a in enumerate(alerts):
            if i > 0 and (ended is None or a.opened_at < ended + window_s):
                found.append(a)
            if ended is not None:
                ended = None if a.resolved_at is None else max(ended, a.resolved_at)
    return sorted(found, key=lambda a: (a.opened_at, a.alert_id))


def first_outside(readings: Iterable[tuple[float, float]], low: float, high: float) -> float | None:
    """Event time of the first (timestamp, temp) reading outside ``[low, high]``."""
    times = [ts for ts, temp in readings if temp > high or temp < low]
    return min(times) if times else None


def trend_trucks(spec: Expectation) -> list[str]:
    """Trucks where the scenario expects both the trend warning and an excursion."""
    return sorted(
        truck
        for truck, rule in spec.expected
        if rule == TREND_RULE and any((truck, r) in spec.expected for r in EXCURSION_RULES)
    )


def lead_minutes(raised: Iterable[Raised], truck: str, outside_at: float | None) -> float | None:
    """Minutes from the truck's first ``temp_rising`` opening to ``outside_at``; None when
    either never happened."""
    opened = [a.opened_at for a in raised if a.truck == truck and a.rule == TREND_RULE]
    if not opened or outside_at is None:
        return None
    return (outside_at - min(opened)) / 60.0


def first_excursion_alert(raised: Iterable[Raised], truck: str) -> float | None:
    """When the truck's first excursion alert opened (None: none did)."""
    opened = [a.opened_at for a in raised if a.truck == truck and a.rule in EXCURSION_RULES]
    return min(opened) if opened else None


@dataclass(slots=True)
class Tally:
    """The figures of one or more runs, with the alerts behind each shortfall."""

    expected: int = 0
    hits: int = 0
    severe_total: int = 0
    severe_expected: int = 0
    missed: list[str] = field(default_factory=list)
    false_alarms: list[tuple[str, Raised]] = field(default_factory=list)
    """(run label, alert): major or critical alerts the scenario does not expect."""
    healthy: list[tuple[str, Raised]] = field(default_factory=list)
    duplicates: list[tuple[str, Raised]] = field(default_factory=list)
    leads: list[float] = field(default_factory=list)
    alarm_leads: list[float] = field(default_factory=list)
    """Minutes from the first temp_rising to the first excursion alert, per trend truck."""
    no_lead: list[str] = field(default_factory=list)
    """Trend trucks without a lead time (no temp_rising, or never outside the range)."""

    def add(self, other: Tally) -> None:
        self.expected += other.expected
        self.hits += other.hits
        self.severe_total += other.severe_total
        self.severe_expected += other.severe_expected
        self.missed += other.missed
        self.false_alarms += other.false_alarms
        self.healthy += other.healthy
        self.duplicates += other.duplicates
        self.leads += other.leads
        self.alarm_leads += other.alarm_leads
        self.no_lead += other.no_lead

    @property
    def recall(self) -> float | None:
        return self.hits / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        return self.severe_expected / self.severe_total if self.severe_total else None

    @property
    def median_lead(self) -> float | None:
        return statistics.median(self.leads) if self.leads else None

    @property
    def median_alarm_lead(self) -> float | None:
        return statistics.median(self.alarm_leads) if self.alarm_leads else None


def score(
    raised: Sequence[Raised], spec: Expectation, outside_at: dict[str, float | None], label: str
) -> Tally:
    """The figures of one run. ``outside_at``: per trend truck, its first reading outside the
    cargo range (:func:`first_outside`); ``label`` names the run in the shortfall lists."""
    miss = missed(raised, spec)
    good, bad = severe(raised, spec)
    tally = Tally(
        expected=len(spec.expected),
        hits=len(spec.expected) - len(miss),
        severe_total=len(good) + len(bad),
        severe_expected=len(good),
        missed=[f"{label}: {truck} {rule}" for truck, rule in miss],
        false_alarms=[(label, a) for a in bad],
        healthy=[(label, a) for a in on_healthy(raised, spec)],
        duplicates=[(label, a) for a in duplicates(raised)],
    )
    for truck in trend_trucks(spec):
        lead = lead_minutes(raised, truck, outside_at.get(truck))
        if lead is None:
            tally.no_lead.append(f"{label}: {truck}")
        else:
            tally.leads.append(lead)
        alarm = lead_minutes(raised, truck, first_excursion_alert(raised, truck))
        if alarm is not None:
            tally.alarm_leads.append(alarm)
    return tally
