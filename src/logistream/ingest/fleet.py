"""Which trucks run and what happens to them: the fleet of a run, with its scenario's faults.

The registry's fleet is taken in order; a run asking for more trucks than it has gets more made
from it in turn (generated plates, the same routes and cargo). Each scenario event becomes a
:class:`Fault` on its truck, placed at its time, distance or waypoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from logistream.errors import ConfigError
from logistream.ingest import physics
from logistream.ingest.faults import Fault
from logistream.ingest.route import RoutePath
from logistream.ingest.shipment_plans import TruckPlan
from logistream.ingest.simulator import FleetSim
from logistream.ingest.stops import add_planned_stops
from logistream.ingest.truck import TruckSim
from logistream.registry.models import Registry, Truck
from logistream.registry.scenarios import FaultEvent, Scenario


def fleet_trucks(registry: Registry, count: int | None) -> list[Truck]:
    """The first ``count`` trucks of the fleet; beyond its end, more made from it in turn."""
    fleet = list(registry.trucks)
    if not fleet:
        raise ConfigError("fleet.toml: the fleet has no trucks")
    count = len(fleet) if count is None else count
    if count <= len(fleet):
        return fleet[:count]
    taken = {t.truck_id for t in fleet}
    extra: list[Truck] = []
    n = 0
    while len(fleet) + len(extra) < count:
        plate = _generated_plate(n)
        template = fleet[n % len(fleet)]
        n += 1
        if plate in taken:
            continue
        extra.append(
            Truck(
                truck_id=plate,
                driver_id=f"DRV-{len(fleet) + len(extra) + 1:05d}",
                route=template.route,
                cargo=template.cargo,
                tank_litres=template.tank_litres,
                departure_offset_min=float((n * 7) % 120),
            )
        )
    return fleet + extra


def _generated_plate(n: int) -> str:
    """Kenyan-style plates for generated trucks: KZA 001A, KZA 002A, … (676,000 of them)."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, as on Kenyan plates
    number = n % 999 + 1
    rest = n // 999
    suffix = letters[rest % len(letters)]
    series = letters[(rest // len(letters)) % len(letters)]
    return f"KZ{series} {number:03d}{suffix}"


def build_fleet(
    registry: Registry,
    scenario: Scenario,
    *,
    trucks: int | None,
    seed: int,
    start: float,
    rate_hz: float,
    partial: bool = False,
    plans: Mapping[str, TruckPlan] | None = None,
) -> FleetSim:
    """The trucks of a run with the scenario's faults placed on them.

    ``partial``: faults of trucks outside the run are left out (for the implicit demo mix);
    otherwise a scenario whose trucks are not all in the run is refused. ``plans``: per truck,
    its shipment's part (``shipment_plans.TruckPlan``): the departure, the drops where the route
    has no stop, and a reefer switched on late.
    """
    if rate_hz <= 0:
        raise ConfigError("--rate must be above 0 readings per truck per simulated second")
    chosen = fleet_trucks(registry, trucks)
    names = {t.truck_id for t in chosen}
    missing = sorted(scenario.trucks - names)
    if missing and not partial:
        position = max(i for i, t in enumerate(registry.trucks) if t.truck_id in missing) + 1
        raise ConfigError(
            f"scenario {scenario.name} involves {', '.join(missing)}: run with --trucks "
            f"{position} or more"
        )
    paths: dict[str, tuple[RoutePath, RoutePath]] = {}
    dt = 1.0 / rate_hz
    sims = []
    for truck in chosen:
        if truck.route not in paths:
            route = registry.routes[truck.route]
            paths[truck.route] = (RoutePath(route), RoutePath(route, reverse=True))
        fwd = paths[truck.route][0]
        plan = (plans or {}).get(truck.truck_id)
        if plan is not None:
            truck = replace(truck, departure_offset_min=plan.depart_min)
        faults = []
        for event in scenario.events:
            if event.truck != truck.truck_id:
                continue
            km = event.at_km
            if event.at_waypoint is not None:
                km = fwd.km_of(event.at_waypoint)
            faults.append(Fault(event, start, km))
        if plan is not None and plan.reefer_on_min > 0:
            # The reefer is off (the air drifts with the outside) until it is switched on.
            off = FaultEvent(truck.truck_id, "reefer_failure", at_min=0.0,
                             for_s=plan.reefer_on_min * 60.0)  # fmt: skip
            faults.append(Fault(off, start, None))
        sim = TruckSim(
            truck,
            registry.profile_for(truck.cargo),
            paths[truck.route],
            seed=seed,
            start=start,
            dt=dt,
            faults=faults,
        )
        if plan is not None:
            add_planned_stops(sim.stops, plan.stops)
            if plan.reefer_on_min > 0:
                sim.temp = fwd.mean_ambient_at(0.0) + physics.diurnal_offset_c(start)
        sims.append(sim)
    return FleetSim(trucks=sims, start=start, rate_hz=rate_hz, scenario=scenario)
