"""The alarm-quality benchmark's maths (bench/alarm_quality.py) on small hand-made alert lists."""

from __future__ import annotations

import pytest
from bench.alarm_quality import (
    DUPLICATE_WINDOW_S,
    Expectation,
    Raised,
    Tally,
    duplicates,
    first_outside,
    score,
)

T = 1_767_225_600.0
TRUCK, OTHER, HEALTHY = "KCK 293K", "KCF 337F", "KCA 452B"
SPEC = Expectation(
    expected=frozenset(
        {
            (TRUCK, "temp_rising"),
            (TRUCK, "temp_high"),
            (TRUCK, "temp_critical"),
            (OTHER, "door_open"),
        }
    ),
    allowed=frozenset({(OTHER, "temp_high")}),
    named_trucks=frozenset({TRUCK, OTHER}),
)
SEVERITY = {
    "temp_rising": "warning",
    "temp_high": "major",
    "temp_critical": "critical",
    "door_open": "minor",
    "sensor_offline": "major",
    "harsh_braking": "warning",
}


def alert(
    n: int,
    rule: str,
    at_min: float,
    truck: str = TRUCK,
    resolved_min: float | None = None,
    trip: str | None = "T1",
) -> Raised:
    return Raised(
        alert_id=f"a{n}",
        truck=truck,
        rule=rule,
        severity=SEVERITY[rule],
        opened_at=T + at_min * 60,
        trip=trip,
        resolved_at=None if resolved_min is None else T + resolved_min * 60,
    )


CLEAN = [
    alert(1, "temp_rising", 20),
    alert(2, "temp_high", 45),
    alert(3, "temp_critical", 80),
    alert(4, "door_open", 30, truck=OTHER, resolved_min=50),
]


def run(raised: list[Raised], outside_min: float | None = 35.0) -> Tally:
    outside = {TRUCK: None if outside_min is None else T + outside_min * 60}
    return score(raised, SPEC, outside, "test@15:00")


def test_every_expected_alert_once_scores_perfectly() -> None:
    t = run(CLEAN)
    assert (t.recall, t.precision) == (1.0, 1.0)
    assert (t.healthy, t.duplicates, t.missed, t.false_alarms) == ([], [], [], [])
    assert t.leads == [15.0]  # rising at +20 min, first reading outside at +35 min
    assert t.alarm_leads == [25.0]  # temp_high at +45 min


def test_a_missed_alert_lowers_recall() -> None:
    t = run([a for a in CLEAN if a.rule != "temp_critical"])
    assert (t.hits, t.expected) == (3, 4)
    assert t.recall == pytest.approx(0.75)
    assert t.missed == ["test@15:00: KCK 293K temp_critical"]
    # The remaining major alert is still right: precision is about what was raised.
    assert t.precision == 1.0


def test_an_unexpected_critical_lowers_precision() -> None:
    extra = alert(9, "temp_critical", 100, truck=OTHER)
    t = run([*CLEAN, extra])
    assert (t.severe_expected, t.severe_total) == (2, 3)
    assert t.precision == pytest.approx(2 / 3)
    assert t.false_alarms == [("test@15:00", extra)]
    assert t.recall == 1.0
    assert t.healthy == []  # OTHER is named by the scenario: not a healthy truck


def test_an_allowed_pair_is_neither_hit_nor_false_alarm() -> None:
    t = run([*CLEAN, alert(9, "temp_high", 60, truck=OTHER)])
    assert (t.severe_expected, t.severe_total) == (2, 2)


def test_warnings_and_minor_alerts_do_not_count_in_precision() -> None:
    t = run([*CLEAN, alert(9, "door_open", 5)])  # unexpected, but minor
    assert t.precision == 1.0


def test_any_alert_on_a_healthy_truck_counts() -> None:
    warning = alert(9, "harsh_braking", 10, truck=HEALTHY)
    offline = alert(10, "sensor_offline", 40, truck=HEALTHY)
    t = run([*CLEAN, warning, offline])
    assert [a for _, a in t.healthy] == [warning, offline]
    assert t.false_alarms == [("test@15:00", offline)]


def test_a_reopened_alert_counts_as_a_duplicate() -> None:
    first = alert(1, "sensor_offline", 10, resolved_min=12)
    again = alert(2, "sensor_offline", 25, resolved_min=27)  # 13 min after the first resolved
    assert duplicates([first, again]) == [again]


def test_an_alert_opened_while_another_is_open_is_a_duplicate() -> None:
    first = alert(1, "temp_high", 10)  # never resolved
    again = alert(2, "temp_high", 200)
    assert duplicates([again, first]) == [again]


def test_a_new_cause_is_not_a_duplicate() -> None:
    first = alert(1, "temp_high", 10, resolved_min=20)
    window_min = DUPLICATE_WINDOW_S / 60
    later = alert(2, "temp_high", 20 + window_min)  # a whole window after it resolved
    next_trip = alert(3, "temp_high", 25, trip="T2")
    other_truck = alert(4, "temp_high", 11, truck=OTHER)
    assert duplicates([first, later, next_trip, other_truck]) == []


def test_harsh_events_are_each_their_own_cause() -> None:
    assert (
        duplicates([alert(1, "harsh_braking", 10, resolved_min=15), alert(2, "harsh_braking", 16)])
        == []
    )


def test_duplicates_are_counted_in_the_tally() -> None:
    again = alert(9, "door_open", 55, truck=OTHER)  # 5 min after a4 resolved
    t = run([*CLEAN, again])
    assert t.duplicates == [("test@15:00", again)]


def test_lead_time_arithmetic() -> None:
    # The warning came 4.5 min after the first reading outside the range: a negative lead.
    assert run(CLEAN, outside_min=15.5).leads == [-4.5]
    t = run(CLEAN, outside_min=None)  # never outside the range
    assert (t.leads, t.no_lead) == ([], ["test@15:00: KCK 293K"])
    no_warning = run([a for a in CLEAN if a.rule != "temp_rising"])
    assert (no_warning.leads, no_warning.alarm_leads) == ([], [])


def test_first_outside_takes_the_earliest_reading_beyond_either_limit() -> None:
    readings = [(T + 60, 5.0), (T + 120, 8.0), (T + 240, 8.4), (T + 180, 1.9), (T + 300, 9.0)]
    assert first_outside(readings, 2.0, 8.0) == T + 180  # limits themselves are inside
    assert first_outside([(T, 5.0)], 2.0, 8.0) is None


def test_tallies_add_up_and_give_the_median_lead() -> None:
    total = Tally()
    for outside in (30.0, 35.0, 50.0):
        total.add(run(CLEAN, outside_min=outside))
    total.add(run([a for a in CLEAN if a.rule != "temp_high"]))
    assert (total.hits, total.expected) == (15, 16)
    assert total.median_lead == 15.0  # leads 10, 15, 30, 15
    assert total.median_alarm_lead == 25.0
