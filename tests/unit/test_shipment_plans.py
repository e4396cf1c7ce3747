"""The simulator's shipments: valid plans on the trucks' real routes, trucks that really stand in
each stop's fence long enough for the stage dwell, pre-cooled loading (or a reefer switched on
late), and the scenario files that carry shipments. In-process, no servers: the fleet is stepped
and its positions fed to the pure stage machine."""

from __future__ import annotations

from datetime import datetime

import pytest

from logistream.errors import ConfigError
from logistream.events import Reading
from logistream.ingest.fleet import build_fleet
from logistream.ingest.shipment_plans import (
    LATE_MIN,
    PLANS,
    planned_arrivals,
    simulated_shipment,
    truck_plan,
)
from logistream.ingest.sim_shipments import RunShipment, run_shipments
from logistream.ingest.stops import Stop, add_planned_stops
from logistream.registry import load_registry
from logistream.registry.scenarios import (
    load_all_scenarios,
    load_scenario,
    parse_scenario,
)
from logistream.shipments import stages

REGISTRY = load_registry()
SEED = 42
START = datetime.fromisoformat("2026-03-02T06:00:00+03:00").timestamp()
ALL = "shipment_three_drops+shipment_late_arrival+shipment_not_precooled+shipment_rejected_lot"
RATE_HZ = 0.2


def _drive(name: str, minutes: float) -> tuple[list[RunShipment], dict[str, list[Reading]]]:
    """The scenario's fleet stepped for ``minutes``; each shipment truck's readings."""
    scenario = load_scenario(name, REGISTRY)
    trucks = [t.truck_id for t in REGISTRY.trucks]
    runs = run_shipments(scenario, REGISTRY, trucks, START)
    fleet = build_fleet(
        REGISTRY,
        scenario,
        trucks=None,
        seed=SEED,
        start=START,
        rate_hz=RATE_HZ,
        plans={r.truck.truck_id: r.truck for r in runs},
    )
    watched: dict[str, list[Reading]] = {r.shipment.truck_id: [] for r in runs}
    for item in fleet.emissions(minutes * 60.0):
        if isinstance(item, Reading) and item.truck_id in watched:
            watched[item.truck_id].append(item)
    return runs, watched


def _stages(run: RunShipment, readings: list[Reading]) -> list[tuple[str, str]]:
    shipment = run.shipment
    progress = stages.start(shipment)
    seen = []
    for r in readings:
        progress, changes = stages.on_position(
            progress, shipment, r.lat, r.lon, r.timestamp, stages.StageConfig()
        )
        seen.extend((c.stage, shipment.stops[c.stop].stop_id) for c in changes)
    return seen


def test_every_plan_is_a_valid_shipment_with_windows_in_driving_order() -> None:
    for plan in PLANS.values():
        shipment = simulated_shipment(plan, REGISTRY, START)
        assert shipment.truck_id == plan.truck_id
        assert [s.stop_id for s in shipment.stops] == [s.stop_id for s in plan.stops]
        ends = [s.window_end.timestamp() for s in shipment.stops]
        assert ends == sorted(ends)
        assert ends[0] == START + LATE_MIN * 60.0  # the truck is at the origin at the start
        for stop in plan.stops:
            waypoint = next(
                w for r in REGISTRY.routes.values() for w in r.waypoints if w.name == stop.waypoint
            )
            fence = next(s for s in shipment.stops if s.stop_id == stop.stop_id).geofence
            assert fence.contains(waypoint.lat, waypoint.lon)


def test_three_drops_planned_on_nairobi_kisumu_with_kericho_as_an_added_stop() -> None:
    plan = PLANS["vaccines_kisumu"]
    assert REGISTRY.truck(plan.truck_id).route == "nairobi_kisumu"  # type: ignore[union-attr]
    assert [s.kind for s in plan.stops] == ["origin", "drop", "drop", "destination"]
    sim = truck_plan(plan, REGISTRY)
    # Nakuru is a stop of the route (20 min); Kericho is not, so the plan makes the truck stand.
    assert len(sim.stops) == 1
    assert sim.stops[0][1] == 20 * 60.0
    arrivals = planned_arrivals(plan, REGISTRY)
    assert arrivals[0] == 0.0
    assert arrivals == sorted(arrivals)
    # Hold (50 min) + 350-odd km at 60 km/h + the two 20 min stops: about 6.6 h.
    assert 6.0 * 3600 < arrivals[-1] < 7.2 * 3600


def test_a_window_shift_moves_every_window() -> None:
    plan = PLANS["flowers_jkia"]
    on_time = simulated_shipment(plan, REGISTRY, START)
    late = simulated_shipment(plan, REGISTRY, START, window_shift_min=-180)
    for a, b in zip(on_time.stops, late.stops, strict=True):
        assert (a.window_end - b.window_end).total_seconds() == 180 * 60


def test_a_plan_on_a_truck_of_another_cargo_is_refused() -> None:
    with pytest.raises(ConfigError, match="carries frozen, not vaccines"):
        simulated_shipment(PLANS["vaccines_kisumu"], REGISTRY, START, "KCD 219D")


def test_planned_stops_lengthen_a_stop_or_add_one() -> None:
    stops = [Stop(10.0, 600.0, "town"), Stop(50.0, 3600.0, "depot", destination=True)]
    add_planned_stops(stops, [(10.0, 1200.0), (30.0, 900.0)])
    assert [(s.km, s.dwell_s, s.kind) for s in stops] == [
        (10.0, 1200.0, "town"),
        (30.0, 900.0, "drop"),
        (50.0, 3600.0, "depot"),
    ]


def test_the_simulated_trucks_pass_every_hand_written_stage_in_order() -> None:
    scenario = load_scenario(ALL, REGISTRY)
    runs, readings = _drive(ALL, scenario.duration_min)
    for run in runs:
        seen = _stages(run, readings[run.shipment.truck_id])
        print(run.spec.name, seen)
        assert seen == scenario.stages_of(run.spec.name), run.spec.name


def _cold_at_loading(readings: list[Reading], low: float, high: float) -> float:
    """Seconds the air had been in range when the doors first opened (loading)."""
    since = None
    for r in readings:
        if r.door_open:
            assert since is not None, "loading with the air out of range"
            return r.timestamp - since
        inside = low <= r.temp <= high
        since = (since or r.timestamp) if inside else None
    raise AssertionError("no loading")


def test_loading_is_pre_cooled_unless_the_reefer_is_switched_on_late() -> None:
    milk = REGISTRY.profile_for("milk")
    _, normal = _drive("shipment_three_drops", 60)
    _, late = _drive("shipment_not_precooled", 60)
    vaccines = REGISTRY.profile_for("vaccines")
    cold = _cold_at_loading(normal["KCB 781C"], vaccines.low_c, vaccines.high_c)
    assert cold >= 30 * 60, cold
    warm = _cold_at_loading(late["KCF 337F"], milk.low_c, milk.high_c)
    assert warm < 15 * 60, warm
    assert late["KCF 337F"][0].temp > milk.high_c + 4.0  # warm at the start: the reefer is off


def test_shipment_scenarios_are_listed_apart_and_run_together() -> None:
    plain = load_all_scenarios(REGISTRY)
    with_shipments = load_all_scenarios(REGISTRY, shipments=True)
    assert set(with_shipments) == {
        "shipment_three_drops",
        "shipment_late_arrival",
        "shipment_not_precooled",
        "shipment_rejected_lot",
    }
    assert not set(plain) & set(with_shipments)
    combined = load_scenario(ALL, REGISTRY)
    assert combined.duration_min == 420
    assert {s.name for s in combined.shipments} == {
        "vaccines_kisumu",
        "flowers_jkia",
        "milk_nyeri",
        "roses_rejected",
    }
    with pytest.raises(ConfigError, match="both involve KCB 781C"):
        load_scenario("shipment_three_drops+reefer_failure+shipment_three_drops", REGISTRY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[shipment]]\ntruck = "KCB 781C"\n', "missing plan"),
        ('[[shipment]]\nplan = "x"\n', "missing truck"),
        ('[[shipment]]\nplan = "x"\ntruck = "KCB 781C"\nspeed = 3\n', "unknown key speed"),
        (
            '[[shipment]]\nplan = "x"\ntruck = "KCB 781C"\n'
            '[[stage]]\nshipment = "x"\nstage = "lost"\nstop = "a"\n',
            "stage 'lost' is not one of",
        ),
        (
            '[[shipment]]\nplan = "x"\ntruck = "KCB 781C"\n'
            '[[stage]]\nshipment = "y"\nstage = "at_origin"\nstop = "a"\n',
            "shipment 'y' is not one of the",
        ),
        (
            '[[shipment]]\nplan = "x"\ntruck = "KCB 781C"\n'
            '[[pod]]\nshipment = "x"\nlot = "L"\ndecision = "maybe"\n',
            "decision 'maybe' is not one of",
        ),
        ('[[shipment]]\nplan = "x"\ntruck = "KZZ 000Z"\n', "not in the fleet"),
    ],
)
def test_bad_shipment_parts_of_a_scenario_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_scenario("bad", text, REGISTRY)


def test_a_scenario_shipment_with_an_unknown_plan_is_refused_when_run() -> None:
    scenario = parse_scenario(
        "bad", '[[shipment]]\nplan = "ice_cream"\ntruck = "KCB 781C"\n', REGISTRY
    )
    with pytest.raises(ConfigError, match="shipment plan 'ice_cream' not found"):
        run_shipments(scenario, REGISTRY, ["KCB 781C"], START)
