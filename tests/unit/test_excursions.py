"""Excursion extraction and the verdict: delays, hysteresis, defrost, gaps, out-of-order rows."""

from __future__ import annotations

import dataclasses

import pytest
from tests.helpers import seeded_random

from logistream.coldchain.compliance import trip_compliance, verdict
from logistream.coldchain.excursions import Sample, classify, extract, tor_alarm_at
from logistream.registry import cached_registry

VACCINES = cached_registry().cargo["vaccines"]  # 2-8 °C, hard 0/12, delays 10/5 min, hyst 0.3
FROZEN = cached_registry().cargo["frozen"]
HOLD = 900.0
T0 = 1_750_000_000.0


def series(temps: list[float], step: float = 60.0, **flags: list[bool]) -> list[Sample]:
    defrost = flags.get("defrost", [False] * len(temps))
    return [
        Sample(t=T0 + i * step, temp=x, defrost=d, event_id=f"e{i:05d}", lat=-1.0, lon=37.0)
        for i, (x, d) in enumerate(zip(temps, defrost, strict=True))
    ]


def test_clean_trip_passes() -> None:
    c = trip_compliance(series([5.0] * 60), VACCINES, HOLD)
    assert c.verdict == "pass"
    assert c.excursions == ()
    assert c.tor_s == 0
    assert c.mkt_c == pytest.approx(5.0)


def test_short_excursion_is_review_without_alarm() -> None:
    temps = [5.0] * 10 + [9.0] * 5 + [5.0] * 10  # 5 min above 8 °C: below the 10 min delay
    c = trip_compliance(series(temps), VACCINES, HOLD)
    (e,) = c.excursions
    assert (e.kind, e.start, e.end, e.ongoing) == ("high", T0 + 600, T0 + 900, False)
    assert e.duration_s == 300
    assert e.out_s == 300
    assert e.peak_c == 9.0
    assert e.alarm_at is None
    assert c.verdict == "review"
    assert c.above_s == 300
    assert c.below_s == 0


def test_alarm_after_the_delay_and_hysteresis_keeps_it_open() -> None:
    # Up at minute 10; 7.9 °C (inside, but within the 0.3 hysteresis band) does not end it;
    # 7.5 °C does. The alarm is due at the first reading >= 10 min after the start still above.
    temps = [5.0] * 10 + [9.0] * 4 + [7.9] * 3 + [9.5] * 6 + [7.5] * 5
    c = trip_compliance(series(temps), VACCINES, HOLD)
    (e,) = c.excursions
    assert e.start == T0 + 600
    assert e.end == T0 + 23 * 60
    assert e.alarm_at == T0 + 20 * 60  # readings at 17..22 min are above; 20 is 10 min in
    assert e.peak_c == 9.5
    assert e.peak_at == T0 + 17 * 60
    assert e.out_s == 10 * 60  # the band readings are inside the range: not out of range


def test_hard_limit_fails_and_alarms_when_confirmed_by_a_second_reading() -> None:
    temps = [5.0] * 5 + [10.0, 12.5, 12.6] + [5.0] * 5
    c = trip_compliance(series(temps), VACCINES, HOLD)
    kinds = {e.kind: e for e in c.excursions}
    assert kinds["critical"].alarm_at == T0 + 420
    assert kinds["high"].alarm_at is None
    assert c.hard_limit_passed
    assert c.verdict == "fail"


def test_one_reading_beyond_the_hard_limit_fails_the_trip_but_alarms_no_critical() -> None:
    temps = [5.0] * 5 + [10.0, 12.5, 10.0] + [5.0] * 5
    c = trip_compliance(series(temps), VACCINES, HOLD)
    kinds = {e.kind: e for e in c.excursions}
    assert kinds["critical"].alarm_at is None
    assert c.verdict == "fail"  # quality still sees the hard limit passed
    once = trip_compliance(series(temps), VACCINES, HOLD, confirm_readings=1)
    assert {e.kind: e for e in once.excursions}["critical"].alarm_at == T0 + 360


def test_the_critical_confirmation_by_time() -> None:
    temps = [10.0] + [12.5] * 5 + [5.0]
    c = trip_compliance(series(temps, step=20.0), VACCINES, HOLD, confirm_readings=1, confirm_s=60)
    kinds = {e.kind: e for e in c.excursions}
    assert kinds["critical"].alarm_at == T0 + 80


def test_budget_spent_fails_and_the_tor_alarm_time_matches_the_speed_rule() -> None:
    temps = [5.0] * 5 + [9.0] * 70 + [5.0] * 5  # 70 min above, budget 60 min
    c = trip_compliance(series(temps), VACCINES, HOLD)
    assert c.tor_s == 70 * 60
    assert c.verdict == "fail"
    # Out of range from minute 5: the budget is reached at the reading at minute 65.
    assert c.tor_alarm_at == T0 + 65 * 60


def test_low_excursion() -> None:
    temps = [5.0] * 5 + [1.5] * 8 + [2.1] * 2 + [2.5] * 3
    (e,) = trip_compliance(series(temps), VACCINES, HOLD).excursions
    assert e.kind == "low"
    assert e.end == T0 + 15 * 60  # 2.1 is inside but within the band; 2.5 ends it
    assert e.alarm_at == T0 + 10 * 60  # low delay 5 min
    assert e.peak_c == 1.5


def test_defrost_allowance_and_its_maximum() -> None:
    # 10 °C during a flagged defrost is within 8 + 3 °C for up to 45 min; after that it is an
    # excursion, starting when the allowance ran out.
    temps = [5.0] * 5 + [10.0] * 60 + [5.0] * 5
    defrost = [False] * 5 + [True] * 60 + [False] * 5
    c = trip_compliance(series(temps, defrost=defrost), VACCINES, HOLD)
    (e,) = c.excursions
    assert e.kind == "high"
    assert e.start == T0 + (5 + 46) * 60  # 45 min after the defrost began is still allowed
    assert c.defrost_s == 60 * 60
    short = [False] * 5 + [True] * 30 + [False] * 35
    temps2 = [5.0] * 5 + [10.0] * 30 + [5.0] * 35
    c2 = trip_compliance(series(temps2, defrost=short), VACCINES, HOLD)
    assert c2.excursions == ()
    assert c2.verdict == "pass"


def test_gaps_cap_the_time_out_of_range() -> None:
    # A reading above the range, then two hours of silence: only 15 min count as out of range.
    samples = [*series([5.0, 9.0]), Sample(t=T0 + 60 + 7200, temp=5.0, event_id="z")]
    c = trip_compliance(samples, VACCINES, HOLD)
    assert c.above_s == 900
    assert c.gap_s == 7200 - 900
    (e,) = c.excursions
    assert e.end == T0 + 60 + 7200
    # The silence is longer than the 60 min budget: the verdict says review, not pass.
    silent = [*series([5.0]), Sample(t=T0 + 7200, temp=5.0, event_id="z")]
    assert trip_compliance(silent, VACCINES, HOLD).verdict == "review"


def test_out_of_order_rows_give_the_same_result() -> None:
    rng = seeded_random("excursions-order")
    temps = [5.0] * 10 + [9.0] * 15 + [7.9, 8.1, 7.6] + [1.0] * 10 + [5.0] * 10
    ordered = series(temps)
    shuffled = list(ordered)
    rng.shuffle(shuffled)
    assert trip_compliance(shuffled, VACCINES, HOLD) == trip_compliance(ordered, VACCINES, HOLD)


def test_equal_timestamps_are_ordered_by_event_id() -> None:
    a = Sample(t=T0, temp=9.0, event_id="b")
    b = Sample(t=T0, temp=5.0, event_id="a")
    rows = classify([a, b, Sample(t=T0 + 60, temp=5.0, event_id="c")], VACCINES, HOLD)
    assert [r.sample.event_id for r in rows] == ["a", "b", "c"]


def test_ongoing_excursion_at_trip_end() -> None:
    (e,) = extract(classify(series([5.0] * 3 + [9.0] * 3), VACCINES, HOLD), VACCINES)
    assert e.ongoing
    assert e.end == T0 + 5 * 60


def test_frozen_has_no_mkt_and_no_hard_low() -> None:
    c = trip_compliance(series([-22.0] * 30), FROZEN, HOLD)
    assert c.mkt_c is None
    assert c.verdict == "pass"


def test_verdict_rules() -> None:
    args = {"profile": VACCINES, "tor_s": 0.0, "hard_limit_passed": False, "excursions": 0,
            "mkt_c": 5.0, "gap_s": 0.0}  # fmt: skip
    assert verdict(**args)[0] == "pass"  # type: ignore[arg-type]
    assert verdict(**{**args, "mkt_c": 8.5})[0] == "review"  # type: ignore[arg-type]
    assert verdict(**{**args, "tor_s": 59 * 60.0, "excursions": 1})[0] == "review"  # type: ignore[arg-type]
    assert verdict(**{**args, "tor_s": 60 * 60.0, "excursions": 1})[0] == "fail"  # type: ignore[arg-type]
    assert verdict(**{**args, "hard_limit_passed": True})[0] == "fail"  # type: ignore[arg-type]
    no_budget = dataclasses.replace(VACCINES, tor_budget_s=0.0)
    assert verdict(**{**args, "profile": no_budget, "tor_s": 1e6, "excursions": 1})[0] == "review"  # type: ignore[arg-type]
    assert tor_alarm_at(classify(series([9.0] * 100), no_budget, HOLD), no_budget) is None


@pytest.mark.parametrize("glitch", [25.0, -40.0])
def test_a_one_reading_glitch_is_left_out_of_excursions_and_mkt(glitch: float) -> None:
    """The speed layer raises only sensor_fault for it; the batch views find nothing either."""
    temps = [5.0] * 30 + [glitch] + [5.0] * 30
    c = trip_compliance(series(temps, step=30.0), VACCINES, HOLD)
    assert c.excursions == ()
    assert not c.hard_limit_passed
    assert c.verdict == "pass"
    assert c.implausible == 1
    assert c.tor_s == 0
    assert c.mkt_c == pytest.approx(5.0)
    assert c.mean_c == pytest.approx(5.0)
    assert (c.min_c, c.max_c) == (5.0, 5.0)
    rows = classify(series(temps, step=30.0), VACCINES, HOLD)
    assert [r.plausible for r in rows].count(False) == 1
    assert rows[30].temp == 5.0  # the glitch stands for the air as last seen


def test_a_glitch_within_an_excursion_neither_ends_it_nor_moves_its_peak() -> None:
    temps = [5.0] * 5 + [9.0] * 5 + [40.0] + [9.0] * 10 + [5.0] * 5
    c = trip_compliance(series(temps), VACCINES, HOLD)
    (e,) = c.excursions
    assert (e.kind, e.start, e.peak_c, e.alarm_at) == ("high", T0 + 300, 9.0, T0 + 900)
    assert e.out_s == 16 * 60  # the glitch's minute counts at the last plausible 9 °C


def test_a_real_fast_drift_is_plausible_and_an_excursion() -> None:
    temps = [5.0 + 3.0 * i for i in range(6)]  # +3 °C per minute up to 20 °C
    c = trip_compliance(series(temps), VACCINES, HOLD)
    assert c.implausible == 0
    assert {e.kind for e in c.excursions} == {"high", "critical"}


def test_the_batch_and_the_speed_layer_judge_plausibility_alike() -> None:
    from logistream.coldchain.excursions import plausible_at
    from logistream.speed.rules.plausibility import is_plausible

    rng = seeded_random("plausibility-agree")
    for _ in range(2000):
        temp = rng.uniform(-60.0, 80.0)
        dt = rng.choice([1.0, 30.0, 60.0, 600.0])
        door = rng.random() < 0.3
        anchor = rng.uniform(-30.0, 30.0)
        sample = Sample(t=T0 + dt, temp=temp, door_open=door)
        assert plausible_at(sample, VACCINES, (T0, anchor)) is is_plausible(
            VACCINES, temp, T0 + dt, door, T0, anchor
        )


def test_sensor_fault_intervals_run_from_the_first_implausible_reading_to_the_next_good_one() -> (
    None
):
    from logistream.coldchain.excursions import SensorFault, sensor_faults

    temps = [5.0] * 10 + [25.0] + [5.0] * 10 + [-45.0, -44.0] + [5.0] * 5 + [90.0]
    rows = classify(series(temps, step=30.0), VACCINES, HOLD)
    assert sensor_faults(rows) == [
        SensorFault(T0 + 300, T0 + 330, False, 1, 25.0, 25.0, 5.0),
        SensorFault(T0 + 630, T0 + 690, False, 2, -45.0, -44.0, 5.0),
        SensorFault(T0 + 840, T0 + 840, True, 1, 90.0, 90.0, 5.0),
    ]
