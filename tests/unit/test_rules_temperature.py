"""Temperature rules on hand-made sequences: delays, hysteresis, limits, TOR, defrost, trend."""

from __future__ import annotations

import pytest
from tests.unit.rules_support import T0, VOI, Run, every, rd, vax

from logistream.events import Reading
from logistream.speed.rules.trend import line_fit


def test_default_profile_is_the_original_rule_alerting_on_the_first_reading() -> None:
    run = Run()
    made = run.feed([rd(0, 6.0, truck="TRUCK-001"), rd(10, 9.1, truck="TRUCK-001", fuel=80)])
    assert [(a.rule, a.state, a.severity, a.value, a.threshold) for a in made] == [
        ("temp_high", "open", "major", 9.1, 7.0)
    ]
    assert made[0].opened_at == T0 + 10
    assert made[0].message == "TRUCK-001 at 9.1 °C — limit 7 °C"


def test_default_profile_exactly_seven_degrees_does_not_alert() -> None:
    run = Run()
    assert run.feed([rd(0, 7.0, truck="T"), rd(10, 7.0, truck="T")]) == []


def test_vaccines_above_range_alerts_only_after_the_ten_minute_delay() -> None:
    run = Run()
    run.feed([vax(t, 9.0) for t in every(60, 0, 9 * 60 + 1)])  # 0..9 min: under the delay
    assert run.changes == []
    made = run.feed([vax(600, 9.4, lat=VOI[0], lon=VOI[1])])
    assert [(a.rule, a.state) for a in made] == [("temp_high", "open")]
    assert made[0].message == "KBX 123A (vaccines) at 9.4 °C for 10 min near Voi — range 2–8 °C"
    assert made[0].opened_at == T0 + 600


def test_a_short_excursion_below_the_delay_never_alerts() -> None:
    run = Run()
    run.feed([vax(t, 9.0) for t in every(60, 0, 300)] + [vax(300, 5.0)])
    assert run.changes == []


def test_hovering_on_the_limit_neither_flaps_nor_resets_the_delay() -> None:
    run = Run()
    temps = [8.1, 7.9] * 20  # straddles 8.0 but never below 8.0 - 0.3 hysteresis
    run.feed([vax(i * 60, t) for i, t in enumerate(temps)])
    assert run.transitions() == [("temp_high", "open")]
    run.feed([vax(len(temps) * 60, 7.8)])  # still within the hysteresis band
    assert run.transitions() == [("temp_high", "open")]
    made = run.feed([vax(len(temps) * 60 + 60, 7.6)])
    assert [(a.rule, a.state) for a in made] == [("temp_high", "resolved")]
    assert made[0].alert_id == run.changes[0].alert_id
    assert "back to 7.6 °C" in made[0].message


def test_flapping_around_the_limit_with_the_default_profile_opens_once_per_excursion() -> None:
    run = Run()
    temps = [7.2, 6.9, 7.3, 6.8, 7.1, 6.5, 7.5]
    run.feed([rd(i * 10, t, truck="T") for i, t in enumerate(temps)])
    # 6.5 is the first reading at or below 7.0 - 0.3: one excursion ends there, another begins.
    assert [(c.rule, c.state, c.value) for c in run.changes] == [
        ("temp_high", "open", 7.2),
        ("temp_high", "resolved", 7.2),
        ("temp_high", "open", 7.5),
    ]


def test_low_excursion_uses_its_own_delay_and_the_hard_limit_is_critical_when_confirmed() -> None:
    run = Run()
    run.feed([vax(0, 1.5), vax(240, 1.2)])
    assert run.changes == []
    run.feed([vax(300, 1.0)])
    assert run.transitions() == [("temp_low", "open")]
    assert run.feed([vax(330, -0.5)]) == []  # one reading beyond the hard limit: not yet
    made = run.feed([vax(345, -0.6)])
    assert [(a.rule, a.state, a.severity) for a in made] == [("temp_critical", "open", "critical")]
    assert "below the hard limit of 0 °C" in made[0].message
    run.feed([vax(360, 0.1)])  # inside the hard limit but not by the hysteresis
    assert run.open_rules() == {"temp_low", "temp_critical"}
    made = run.feed([vax(390, 2.4)])
    assert [(a.rule, a.state) for a in made] == [("temp_low", "resolved")]
    # The critical's end is confirmed: a second reading back inside, and 5 min (critical_clear_s)
    # since the last reading beyond the hard limit.
    assert run.feed([vax(420, 2.5)]) == []
    made = run.feed([vax(660, 2.6)])
    assert [(a.rule, a.state) for a in made] == [("temp_critical", "resolved")]


def test_one_reading_beyond_the_hard_limit_is_not_a_critical() -> None:
    run = Run()
    assert run.feed([vax(0, 5.0), vax(60, 12.5), vax(120, 11.0), vax(180, 6.0)]) == []


def test_two_consecutive_readings_beyond_the_hard_limit_raise_temp_critical() -> None:
    run = Run()
    assert run.feed([vax(0, 5.0), vax(60, 12.5)]) == []
    made = run.feed([vax(90, 12.6)])
    assert [(a.rule, a.state, a.opened_at) for a in made] == [("temp_critical", "open", T0 + 90)]


def test_a_band_reading_between_two_beyond_the_limit_neither_counts_nor_resets() -> None:
    run = Run()
    # 11.9 °C is inside the 12 °C hard limit but not by the 0.3 hysteresis: still the excursion.
    assert run.feed([vax(0, 11.0), vax(30, 12.2), vax(60, 11.9)]) == []
    made = run.feed([vax(90, 12.1)])
    assert [(a.rule, a.state) for a in made] == [("temp_critical", "open")]


def test_an_implausible_reading_does_not_confirm_a_critical() -> None:
    run = Run()
    run.feed([vax(0, 11.0), vax(30, 12.5), vax(60, 40.0)])  # the second is a glitch
    assert run.open_rules() == {"sensor_fault"}
    made = run.feed([vax(90, 12.6)])
    assert ("temp_critical", "open") in [(a.rule, a.state) for a in made]


def test_confirmation_by_time_when_configured() -> None:
    from dataclasses import replace

    from tests.unit.rules_support import RULES

    rules = replace(
        RULES,
        temperature=replace(
            RULES.temperature, critical_confirm_readings=1, critical_confirm_s=60.0
        ),
    )
    run = Run(rules=rules)
    readings = [vax(t, 12.5 if t else 11.0) for t in every(20, 0, 120)]
    run.feed(readings)
    opened = [a for a in run.changes if a.state == "open"]
    assert [(a.rule, a.opened_at) for a in opened] == [("temp_critical", T0 + 80)]


def test_a_steep_reefer_failure_still_alarms_and_the_critical_comes_one_reading_later() -> None:
    """+0.25 °C per minute from 5 °C, a reading every 30 s: temp_high at the same time as
    before, temp_critical one reading (30 s) after the first reading above 12 °C."""
    from dataclasses import replace

    from tests.unit.rules_support import RULES

    readings = [vax(t, round(5.0 + 0.25 * t / 60, 2)) for t in every(30, 0, 3 * 3600)]
    old_rules = replace(RULES, temperature=replace(RULES.temperature, critical_confirm_readings=1))
    before, after = Run(rules=old_rules), Run()
    before.feed(readings)
    after.feed(readings)

    def opened(run: Run) -> dict[str, float]:
        return {a.rule: a.opened_at for a in run.changes if a.state == "open"}

    was, now = opened(before), opened(after)
    assert {"temp_high", "temp_critical", "tor_budget"} <= set(now)
    assert "sensor_fault" not in now
    assert now["temp_high"] == was["temp_high"]
    assert now["tor_budget"] == was["tor_budget"]
    extra = now["temp_critical"] - was["temp_critical"]
    print(f"extra delay of a real critical: {extra:.0f} s (one reading every 30 s)")
    assert extra == 30.0


def test_defrost_within_the_allowance_raises_no_excursion() -> None:
    run = Run()
    run.feed([vax(t, 10.5, defrost=True) for t in every(60, 0, 30 * 60)])  # under 8 + 3
    run.feed([vax(30 * 60, 5.0)])
    assert run.changes == []


def test_defrost_beyond_its_allowance_or_duration_is_an_excursion() -> None:
    run = Run()
    run.feed([vax(t, 11.5, defrost=True) for t in every(60, 0, 11 * 60)])  # above 8 + 3
    assert ("temp_high", "open") in run.transitions()
    run2 = Run()
    run2.feed([vax(t, 10.0, defrost=True) for t in every(60, 0, 60 * 60)])  # longer than 45 min
    opened = [c for c in run2.changes if c.rule == "temp_high"]
    assert len(opened) == 1
    assert opened[0].opened_at == T0 + 56 * 60  # 45 min of defrost, then the 10-minute delay


def test_time_out_of_range_budget_spent_by_short_excursions_on_one_trip() -> None:
    run = Run()
    readings = []
    # 8 excursions of 8 minutes (each under the 10-minute delay) = 64 min > 60 min budget.
    for k in range(8):
        base = k * 20 * 60
        readings += [vax(base + m * 60, 9.0, trip_id="TRIP-1") for m in range(9)]
        readings += [vax(base + 9 * 60 + m * 60, 5.0, trip_id="TRIP-1") for m in range(11)]
    run.feed(readings)
    tor = [c for c in run.changes if c.rule == "tor_budget"]
    assert [(c.state, c.severity) for c in tor] == [("open", "major")]
    assert tor[0].value is not None
    assert tor[0].value >= 60
    assert "temp_high" not in {c.rule for c in run.changes}
    made = run.feed([vax(10_000, 5.0, trip_id="TRIP-2")])
    assert [(c.rule, c.state) for c in made] == [("tor_budget", "resolved")]


def test_duplicates_and_out_of_order_readings_change_nothing_nor_double_count() -> None:
    run = Run()
    run.feed([vax(0, 9.0), vax(300, 9.0)])
    run.feed([vax(300, 9.0), vax(120, 9.0), vax(0, 3.0)])  # a duplicate, two late ones
    # The one inside the 5-min silence is evaluated apart (speed/backfill.py) and changes no
    # live state; the duplicate and the one not after the silence's start are refused.
    assert run.rejected == 2
    assert run.changes == []
    assert run.states["KBX 123A"].temp.high_since == T0
    # A late cold reading did not end the excursion: it still opens at ten minutes.
    run.feed([vax(600, 9.0)])
    assert run.transitions() == [("temp_high", "open")]


def test_rising_trend_warns_before_the_breach_and_resolves_when_it_happens() -> None:
    run = Run()
    # +0.2 °C per minute from 5.0: 8.0 is reached after 15 min.
    run.feed([vax(m * 60, 5.0 + 0.2 * m) for m in range(6)])
    assert run.transitions() == [("temp_rising", "open")]
    assert "predicted in" in run.changes[0].message
    run.feed([vax(m * 60, 5.0 + 0.2 * m) for m in range(6, 17)])
    assert ("temp_rising", "resolved") in run.transitions()


def test_steady_temperature_with_noise_never_warns() -> None:
    run = Run()
    run.feed([vax(m * 30, 7.5 + (0.1 if m % 2 else -0.1)) for m in range(200)])
    assert run.changes == []


def _delivery_stop(door_flags: bool) -> list[Reading]:
    """Flowers at 3.0 °C for ten minutes, five minutes with the door open at a stop on a hot
    afternoon (the air warms to 3.5 °C), then ten minutes cooling back."""
    temps = [3.0] * 20 + [3.0 + 0.05 * i for i in range(1, 11)]
    temps += [3.5 - 0.025 * i for i in range(1, 21)]
    return [
        rd(i * 30, t, cargo="flowers", door_open=(door_flags and 20 <= i < 30))
        for i, t in enumerate(temps)
    ]


def test_a_door_opened_at_a_stop_does_not_raise_the_trend_warning() -> None:
    run = Run()
    run.feed(_delivery_stop(door_flags=True))
    assert run.changes == []
    # The same temperatures without the door's word do look like a drift towards 4 °C.
    unexplained = Run()
    unexplained.feed(_delivery_stop(door_flags=False))
    assert ("temp_rising", "open") in unexplained.transitions()


def test_an_open_trend_warning_holds_through_a_door_opening() -> None:
    run = Run()
    # A failing reefer, +0.2 °C per minute from 5.0; the door is opened at minutes 6 and 7.
    run.feed([vax(m * 60, 5.0 + 0.2 * m, door_open=m in (6, 7)) for m in range(14)])
    assert run.transitions() == [("temp_rising", "open")]


def test_a_recovery_that_crosses_the_setpoint_is_not_a_falling_trend() -> None:
    run = Run()
    # Flowers (setpoint 3 °C, low 2 °C) cooling back from 3.25 °C after a stop and dipping just
    # below the setpoint: the slope points at 2 °C, but the truck is coming back, not drifting.
    run.feed([rd(i * 30, 3.25 - 0.025 * i, cargo="flowers") for i in range(14)])
    assert run.changes == []
    # Past the setpoint by as much as it started above it, the same slope is a drift.
    run.feed([rd(i * 30, 3.25 - 0.025 * i, cargo="flowers") for i in range(14, 30)])
    assert run.transitions() == [("temp_rising", "open")]
    assert "falling, 2 °C predicted" in run.changes[0].message


def test_line_fit_of_a_straight_line_and_of_one_sample() -> None:
    fit = line_fit(((0.0, 3.0), (60.0, 3.5), (120.0, 4.0)))
    assert fit.slope_per_s == pytest.approx(0.5 / 60)
    assert (fit.mean_c, fit.first_c, fit.last_c) == pytest.approx((3.5, 3.0, 4.0))
    assert line_fit(((0.0, 2.5),)) == (0.0, 2.5, 2.5, 2.5)
