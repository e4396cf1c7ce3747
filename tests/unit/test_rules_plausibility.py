"""Sensor plausibility: a glitched reading is a sensor fault, never an excursion."""

from __future__ import annotations

import pytest
from tests.unit.rules_support import REGISTRY, T0, Run, every, vax

from logistream.speed.rules.plausibility import allowed_change_c, fault_of, is_plausible

VACCINES = REGISTRY.cargo["vaccines"]


def test_the_shipped_profiles_have_a_probe_range_and_plausible_rates() -> None:
    for profile in REGISTRY.cargo.values():
        assert (profile.sensor_min_c, profile.sensor_max_c) == (-50.0, 70.0)
        assert profile.max_rate_c_per_min < profile.max_rate_door_c_per_min
        assert profile.rate_slack_c > 0


def test_allowed_change_grows_with_time_and_is_larger_with_the_door_open() -> None:
    assert allowed_change_c(VACCINES, 30, door_open=False) == pytest.approx(2.0 + 4.0)
    assert allowed_change_c(VACCINES, 30, door_open=True) == pytest.approx(5.0 + 4.0)
    assert allowed_change_c(VACCINES, 600, door_open=False) == pytest.approx(40.0 + 4.0)
    assert allowed_change_c(VACCINES, -5, door_open=False) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("temp", "ts", "door", "plausible"),
    [
        (5.4, 30.0, False, True),  # noise
        (25.0, 30.0, False, False),  # +20 °C in 30 s
        (-40.0, 30.0, False, False),  # -45 °C in 30 s
        (10.5, 30.0, False, True),  # +5.5 °C: fast, but within 2 + 4
        (11.5, 30.0, True, True),  # door open: +6.5 °C within 5 + 4
        (25.0, 600.0, False, True),  # 20 °C in 10 min is possible (a stuck value catches up)
        (-55.0, 99_999.0, False, False),  # outside the probe's range whatever the time
        (71.0, 99_999.0, False, False),
    ],
)
def test_a_reading_is_judged_against_the_last_plausible_one(
    temp: float, ts: float, door: bool, plausible: bool
) -> None:
    assert is_plausible(VACCINES, temp, ts, door, 0.0, 5.0) is plausible


def test_the_first_reading_of_a_trip_is_judged_by_the_range_alone() -> None:
    assert fault_of(VACCINES, 30.0, 0.0, False, None, None) is None
    why = fault_of(VACCINES, 85.0, 0.0, False, None, None)
    assert why is not None
    assert "outside the probe's range" in why


@pytest.mark.parametrize("glitch", [25.0, -40.0])
def test_a_one_reading_glitch_of_either_sign_raises_only_sensor_fault(glitch: float) -> None:
    run = Run()
    times = every(30, 0, 3600)
    temps = [glitch if i == 40 else 5.0 for i in range(len(times))]
    run.feed([vax(t, c) for t, c in zip(times, temps, strict=True)])
    assert run.transitions() == [("sensor_fault", "open"), ("sensor_fault", "resolved")]
    opened = run.changes[0]
    assert opened.severity == "minor"
    assert opened.value == glitch
    assert opened.threshold == (11.0 if glitch > 0 else -1.0)  # 5 °C ± (2 + 4) °C in 30 s
    assert "implausible reading" in opened.message
    assert "check the temperature probe, its cable and connector" in opened.message
    assert run.changes[1].opened_at == opened.opened_at
    assert run.changes[1].resolved_at == T0 + times[41]


def test_a_glitch_and_a_later_one_of_the_other_sign_are_two_faults_and_nothing_else() -> None:
    run = Run()
    times = every(30, 0, 2 * 3600)
    temps = [25.0 if i == 20 else -40.0 if i == 150 else 5.0 for i in range(len(times))]
    run.feed([vax(t, c) for t, c in zip(times, temps, strict=True)])
    assert run.transitions() == [("sensor_fault", "open"), ("sensor_fault", "resolved")] * 2
    assert run.changes[0].alert_id != run.changes[2].alert_id


def test_a_fault_lasting_several_readings_is_one_alert_and_feeds_no_rule() -> None:
    run = Run()
    temps = [5.0] * 10 + [-45.0] * 6 + [5.0] * 10  # a shorted probe for 3 min
    run.feed([vax(i * 30, c) for i, c in enumerate(temps)])
    assert run.transitions() == [("sensor_fault", "open"), ("sensor_fault", "resolved")]
    state = run.states["KBX 123A"].temp
    assert state.low_since is None
    assert state.crit_since is None
    assert not state.plaus.fault


def test_an_implausible_reading_during_an_excursion_counts_as_the_air_last_seen() -> None:
    """The excursion goes on (time out of range and the delay run on); the glitch neither ends
    it nor opens a critical."""
    run = Run()
    run.feed([vax(t, 9.0) for t in every(60, 0, 300)])
    run.feed([vax(300, 40.0)])  # a glitch: not a critical, not the end of the excursion
    assert run.open_rules() == {"sensor_fault"}
    run.feed([vax(t, 9.0) for t in every(60, 360, 660)])
    assert run.transitions() == [
        ("sensor_fault", "open"),
        ("sensor_fault", "resolved"),
        ("temp_high", "open"),
    ]
    assert run.changes[-1].opened_at == run.changes[0].opened_at + 300


def test_a_real_fast_drift_within_physics_still_alarms() -> None:
    """A reefer failing hard: +3 °C per minute, within the 4 °C/min plausible: no sensor fault."""
    run = Run()
    run.feed([vax(t, 5.0 + 3.0 * t / 60) for t in every(30, 0, 300)])
    assert "sensor_fault" not in {c.rule for c in run.changes}
    assert "temp_critical" in run.open_rules()


def test_the_trend_rule_does_not_see_an_implausible_reading() -> None:
    run = Run()
    run.feed([vax(t, 5.0) for t in every(30, 0, 900)])
    before = run.states["KBX 123A"].trend
    run.feed([vax(900, 30.0)])
    assert run.states["KBX 123A"].trend is before


def test_trip_less_readings_start_a_new_anchor_at_utc_midnight_as_the_batch_views_do() -> None:
    # T0 is a UTC midnight. Without trip_id the batch views cut trips by UTC day (TRIP_EXPR),
    # and each trip starts without an anchor: the speed layer must cut at the same place.
    run = Run()
    run.feed([vax(t, 5.0) for t in every(30, -300, 0)])
    run.feed([vax(0, 14.0), vax(30, 14.0)])  # +9 °C in 30 s, but on a new (UTC-day) trip
    assert ("sensor_fault", "open") not in run.transitions()
    same_day = Run()
    same_day.feed([vax(t, 5.0) for t in every(30, 0, 300)])
    same_day.feed([vax(300, 14.0)])
    assert ("sensor_fault", "open") in same_day.transitions()
