"""Door, offline, fuel, driving and route rules on hand-made sequences."""

from __future__ import annotations

from tests.unit.rules_support import RULES, T0, VOI, Run, every, rd, vax

NAIROBI = (-1.2864, 36.8172)


def test_door_open_longer_than_allowed_then_closed() -> None:
    run = Run()
    run.feed([vax(t, door_open=True, speed_kmh=0.0) for t in every(60, 0, 10 * 60)])
    assert run.changes == []
    run.feed([vax(600, door_open=True, speed_kmh=0.0)])
    assert run.transitions() == [("door_open", "open")]
    assert run.changes[0].severity == "minor"
    run.feed([vax(660, door_open=True), vax(720, door_open=False)])
    assert run.transitions() == [("door_open", "open"), ("door_open", "resolved")]


def test_door_open_while_moving_is_major_at_once() -> None:
    run = Run()
    made = run.feed([vax(0, door_open=True, speed_kmh=40.0)])
    assert [(a.rule, a.severity) for a in made] == [("door_open", "major")]


def test_sensor_offline_by_watermark_and_by_gap_give_the_same_alert() -> None:
    live, later = Run(), Run()
    readings = [vax(0), vax(60)]
    live.feed(readings)
    later.feed(readings)
    assert live.watermark("KBX 123A", T0 + 60 + 599) == []  # not yet 10 minutes
    opened = live.watermark("KBX 123A", T0 + 60 + 700)
    assert [(a.rule, a.state, a.opened_at) for a in opened] == [
        ("sensor_offline", "open", T0 + 660)
    ]
    assert live.watermark("KBX 123A", T0 + 60 + 900) == []  # at most one open
    back = live.feed([vax(60 + 1200)])
    assert [(a.rule, a.state) for a in back] == [("sensor_offline", "resolved")]
    gap = later.feed([vax(60 + 1200)])
    assert [(a.rule, a.state) for a in gap] == [
        ("sensor_offline", "open"),
        ("sensor_offline", "resolved"),
    ]
    assert gap[0].alert_id == opened[0].alert_id
    assert gap[1] == back[0]


def test_a_parked_truck_silent_for_days_is_inactive_not_offline() -> None:
    run = Run()
    run.feed([vax(0)])
    assert run.watermark("KBX 123A", T0 + 2 * 86_400) == []
    assert run.feed([vax(2 * 86_400)]) == []


def test_fuel_theft_while_parked_but_not_idling_consumption() -> None:
    run = Run()
    # 400 L tank: 1% = 4 L. Idling one hour at 4 L/h loses 1% and is fine.
    run.feed([vax(m * 60, fuel=60.0 - m / 60.0, speed_kmh=0.0) for m in range(61)])
    assert run.changes == []
    made = run.feed([vax(3700, fuel=52.0, speed_kmh=0.0)])  # 8% = 32 L in a minute
    assert [(a.rule, a.state) for a in made] == [("fuel_theft", "open")]
    assert "lost 32 L of fuel while parked" in made[0].message
    made = run.feed([vax(3800, fuel=52.0, speed_kmh=30.0)])
    assert [(a.rule, a.state) for a in made] == [("fuel_theft", "resolved")]


def test_refuelling_while_parked_is_not_theft_and_low_fuel_has_hysteresis() -> None:
    run = Run()
    run.feed([vax(0, fuel=14.0, speed_kmh=0.0)])
    assert run.transitions() == [("fuel_low", "open")]
    run.feed([vax(60, fuel=18.0, speed_kmh=0.0), vax(120, fuel=90.0, speed_kmh=0.0)])
    assert run.transitions() == [("fuel_low", "open"), ("fuel_low", "resolved")]
    run.feed([vax(180, fuel=89.0, speed_kmh=0.0)])
    assert "fuel_theft" not in {c.rule for c in run.changes}


def test_speeding_longer_than_allowed_with_hysteresis() -> None:
    run = Run()
    run.feed([vax(t, speed_kmh=85.0) for t in every(5, 0, 30)])
    assert run.changes == []
    run.feed([vax(30, speed_kmh=86.0), vax(35, speed_kmh=78.0), vax(40, speed_kmh=84.0)])
    assert run.transitions() == [("speeding", "open")]
    run.feed([vax(45, speed_kmh=70.0)])
    assert run.transitions() == [("speeding", "open"), ("speeding", "resolved")]


def test_harsh_braking_opens_once_and_resolves_after_a_quiet_spell() -> None:
    run = Run()
    run.feed([vax(0, speed_kmh=80.0), vax(1, speed_kmh=60.0)])  # 5.6 m/s²
    assert run.transitions() == [("harsh_braking", "open")]
    run.feed([vax(2, speed_kmh=60.0), vax(3, speed_kmh=40.0)])  # again while open
    assert run.transitions() == [("harsh_braking", "open")]
    quiet = 3 + RULES.driving.quiet_s
    run.feed([vax(quiet - 1, speed_kmh=40.0), vax(quiet, speed_kmh=40.0)])
    assert run.transitions() == [("harsh_braking", "open"), ("harsh_braking", "resolved")]


def test_harsh_acceleration_needs_close_readings() -> None:
    run = Run()
    run.feed([vax(0, speed_kmh=0.0), vax(60, speed_kmh=60.0)])  # a minute apart: unknown
    assert run.changes == []
    run.feed([vax(61, speed_kmh=75.0)])  # 4.2 m/s²
    assert run.transitions() == [("harsh_acceleration", "open")]


def test_route_deviation_needs_two_readings_off_route_and_clears_near_it() -> None:
    run = Run()
    off = (NAIROBI[0] - 0.1, NAIROBI[1] - 0.1)  # about 15 km from the A104
    run.feed([vax(0, lat=NAIROBI[0], lon=NAIROBI[1]), vax(60, lat=off[0], lon=off[1])])
    assert run.changes == []
    run.feed([vax(120, lat=off[0], lon=off[1])])
    assert run.transitions() == [("route_deviation", "open")]
    assert "km off the planned route" in run.changes[0].message
    run.feed([vax(180, lat=VOI[0], lon=VOI[1])])
    assert run.transitions() == [("route_deviation", "open"), ("route_deviation", "resolved")]


def test_unknown_trucks_have_no_route_rule_but_messages_name_a_place() -> None:
    run = Run()
    made = run.feed(
        [rd(0, 9.0, truck="KCA 1B", lat=VOI[0] + 2, lon=VOI[1]), rd(60, 9.0, truck="KCA 1B")]
    )
    assert [a.rule for a in made] == ["temp_high"]
    assert " km from " in made[0].message


def test_the_fleet_clock_ignores_one_truck_whose_clock_runs_ahead() -> None:
    from logistream.speed.rules.offline import fleet_clock

    fleet = [T0 + 100.0, T0 + 101.0, T0 + 99.0, T0 + 100.5]
    assert fleet_clock(fleet) == T0 + 100.0  # three trucks have reached it
    assert fleet_clock([*fleet, T0 + 3600.0]) == T0 + 100.5  # the outlier moves nothing much
    assert fleet_clock([*fleet, T0 + 3600.0, T0 + 7200.0]) == T0 + 101.0
    # A small fleet needs all but one: a silent truck never vouches for its own silence.
    assert fleet_clock([T0, T0 + 900.0]) == T0 + 900.0
    assert fleet_clock([T0, T0 + 900.0, T0 + 901.0]) == T0 + 900.0
    assert fleet_clock([T0]) == T0
    assert fleet_clock([]) is None
