"""Shipments for the simulated fleet's first trips, placed where the simulated trucks really stop.

A plan names a truck of the fleet, its lots and its stops as waypoints of the truck's route
(``routes.toml``). Each stop's geofence is a circle round its waypoint; the simulator parks the
truck there long enough to pass the speed layer's dwell: at the origin the truck waits
``hold_min`` before leaving (pre-cooled, loading 12 min before departure), a drop at a waypoint
the route does not stop at gets the plan's ``stop_min`` (:class:`TruckPlan`, honoured by
``fleet.build_fleet``), and the destination is the trip's unloading stop (an hour).

Arrival windows come from the simulation start and the planned drive: the hold, the distance
along the route at ``PLAN_KMH``, and every stop's dwell on the way; a window opens
``EARLY_MIN`` before the planned arrival and closes ``LATE_MIN`` after it. A scenario may shift
the windows (a late arrival) or switch the reefer on late (a loading that is not pre-cooled).

Pure: the registry and the start in, shipments and the simulator's part out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from logistream.errors import ConfigError
from logistream.ingest.route import RoutePath
from logistream.registry.models import Registry
from logistream.shipments.geofence import circle
from logistream.shipments.model import Lot, Organisation, Shipment, Stop, StopKind
from logistream.shipments.parse import parse_shipment
from logistream.shipments.wire import to_document

PLAN_KMH: Final = 60.0
"""Planned average driving speed, towns included (the simulated trucks cruise at 72-77 km/h)."""
EARLY_MIN: Final = 60.0
LATE_MIN: Final = 90.0
FENCE_M: Final = 500.0
LOADING_BEFORE_DEPARTURE_MIN: Final = 12.0
"""The simulator opens the doors for loading 12 min before a truck leaves (``truck.py``)."""


@dataclass(frozen=True, slots=True)
class PlannedStop:
    stop_id: str
    name: str
    waypoint: str
    """A waypoint of the truck's route: the fence's centre."""
    kind: StopKind
    drops: tuple[str, ...] = ()
    stop_min: float = 0.0
    """Minutes the truck stands here (a drop); 0: the route's own stop (``stop_min``)."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    truck_id: str
    cargo: str
    reference: str
    shipper: Organisation
    receiver: Organisation
    lots: tuple[Lot, ...]
    stops: tuple[PlannedStop, ...]
    hold_min: float = 50.0
    """Minutes the truck waits at the origin, reefer on, before leaving (pre-cooling 30 min)."""


@dataclass(frozen=True, slots=True)
class TruckPlan:
    """What the simulator does for a shipment: when the truck leaves, where it stands and how
    long, and when its reefer is switched on."""

    truck_id: str
    depart_min: float
    stops: tuple[tuple[float, float], ...]
    """(km along the first trip, seconds standing) of the drops the route does not stop at."""
    reefer_on_min: float = 0.0
    """0: the air is cold from the start; else warm until the reefer is switched on then."""


def _lot(number: str, product: str, quantity: float, unit: str, expiry: date) -> Lot:
    return Lot(number, product, quantity, unit, expiry)


PLANS: Final[dict[str, Plan]] = {
    plan.name: plan
    for plan in (
        Plan(
            name="vaccines_kisumu",
            truck_id="KCB 781C",
            cargo="vaccines",
            reference="KEMSA/EPI/SIM/3-DROP",
            shipper=Organisation("kemsa", "Kenya Medical Supplies Authority, central store"),
            receiver=Organisation("moh-rift-west", "Ministry of Health, Rift and western depots"),
            lots=(
                _lot(
                    "MR-3101",
                    "Measles-rubella vaccine, 10-dose vial",
                    30,
                    "carton",
                    date(2027, 9, 30),
                ),
                _lot(
                    "MR-3102",
                    "Measles-rubella vaccine, 10-dose vial",
                    25,
                    "carton",
                    date(2027, 9, 30),
                ),
                _lot(
                    "MR-3103",
                    "Measles-rubella vaccine, 10-dose vial",
                    20,
                    "carton",
                    date(2027, 10, 31),
                ),
                _lot(
                    "DIL-3104",
                    "Diluent for measles-rubella vaccine, 5 ml",
                    75,
                    "carton",
                    date(2028, 3, 31),
                ),
            ),
            stops=(
                PlannedStop("nairobi-store", "Nairobi central vaccine store", "Nairobi", "origin"),
                PlannedStop(
                    "nakuru-depot", "Nakuru county vaccine depot", "Nakuru", "drop", ("MR-3101",)
                ),
                PlannedStop(
                    "kericho-depot",
                    "Kericho county vaccine depot",
                    "Kericho",
                    "drop",
                    ("MR-3102",),
                    stop_min=20.0,
                ),
                PlannedStop(
                    "kisumu-depot",
                    "Kisumu regional vaccine depot",
                    "Kisumu",
                    "destination",
                    ("MR-3103", "DIL-3104"),
                ),
            ),
        ),
        Plan(
            name="flowers_jkia",
            truck_id="KCH 146H",
            cargo="flowers",
            reference="NVF/EXP/SIM/ROSES",
            shipper=Organisation("naivasha-flowers", "Naivasha South Lake flower farm"),
            receiver=Organisation("jkia-cargo", "JKIA perishables cargo terminal"),
            lots=(
                _lot("RS-7201", "Roses, 50 cm, 20-stem bunches", 6, "tonne", date(2026, 12, 31)),
                _lot("RS-7202", "Roses, 60 cm, 20-stem bunches", 6, "tonne", date(2026, 12, 31)),
            ),
            stops=(
                PlannedStop(
                    "naivasha-farm",
                    "Naivasha farm pack house",
                    "Naivasha farms (South Lake Road)",
                    "origin",
                ),
                PlannedStop(
                    "jkia-terminal",
                    "JKIA perishables terminal",
                    "JKIA",
                    "destination",
                    ("RS-7201", "RS-7202"),
                ),
            ),
        ),
        Plan(
            name="milk_nyeri",
            truck_id="KCF 337F",
            cargo="milk",
            reference="CHD/MILK/SIM/ROUND",
            shipper=Organisation("highlands-dairy", "Central highlands dairy cooperative"),
            receiver=Organisation("nairobi-dairy", "Nairobi dairy processing plant"),
            lots=(
                _lot(
                    "MK-0901", "Raw milk, Nyeri cooling centre", 4000, "litre", date(2026, 12, 31)
                ),
                _lot("MK-0902", "Raw milk, Karatina collection", 3000, "litre", date(2026, 12, 31)),
                _lot("MK-0903", "Raw milk, Murang'a collection", 2500, "litre", date(2026, 12, 31)),
            ),
            # A collection round: the milk of each collection stop is on board from the origin
            # (shipments only know drops), all handed over at the plant.
            stops=(
                PlannedStop("nyeri-cooling", "Nyeri milk cooling centre", "Nyeri", "origin"),
                PlannedStop(
                    "karatina-collection", "Karatina collection centre", "Karatina", "drop"
                ),
                PlannedStop(
                    "muranga-collection",
                    "Murang'a collection centre",
                    "Murang'a",
                    "drop",
                    stop_min=15.0,
                ),
                PlannedStop(
                    "nairobi-plant",
                    "Nairobi dairy plant",
                    "Nairobi",
                    "destination",
                    ("MK-0901", "MK-0902", "MK-0903"),
                ),
            ),
        ),
    )
}


def plan_named(name: str) -> Plan:
    """The plan of that name; an unknown name lists the known ones."""
    if name not in PLANS:
        raise ConfigError(f"shipment plan {name!r} not found; known: {', '.join(sorted(PLANS))}")
    return PLANS[name]


def shipment_id(plan: Plan, truck_id: str, start: float) -> str:
    """A stable id: the plan, the truck and the simulation start (UTC minute)."""
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y%m%dT%H%M")
    return f"SIM-{plan.name.upper().replace('_', '-')}-{truck_id.replace(' ', '')}-{stamp}"


def _path(plan: Plan, registry: Registry, truck_id: str) -> RoutePath:
    truck = registry.truck(truck_id)
    if truck is None:
        raise ConfigError(f"shipment plan {plan.name}: truck {truck_id!r} is not in fleet.toml")
    if truck.cargo != plan.cargo:
        raise ConfigError(
            f"shipment plan {plan.name}: truck {truck_id} carries {truck.cargo}, not {plan.cargo}"
        )
    return RoutePath(registry.routes[truck.route])


def _stop_km(plan: Plan, path: RoutePath) -> list[float]:
    kms = []
    for stop in plan.stops:
        km = path.km_of(stop.waypoint)
        if km is None:
            raise ConfigError(
                f"shipment plan {plan.name}: stop {stop.stop_id} waypoint {stop.waypoint!r} is "
                f"not on route {path.name}"
            )
        kms.append(km)
    if kms[0] != 0.0 or kms[-1] != path.length_km:
        raise ConfigError(
            f"shipment plan {plan.name}: the origin and destination must be the route's ends"
        )
    return kms


def truck_plan(
    plan: Plan, registry: Registry, truck_id: str | None = None, *, reefer_on_min: float = 0.0
) -> TruckPlan:
    """The simulator's part of a shipment on ``truck_id`` (default: the plan's truck)."""
    truck_id = truck_id or plan.truck_id
    path = _path(plan, registry, truck_id)
    kms = _stop_km(plan, path)
    extra = tuple(
        (km, stop.stop_min * 60.0)
        for stop, km in zip(plan.stops, kms, strict=True)
        if stop.kind == "drop" and stop.stop_min > 0
    )
    return TruckPlan(truck_id, plan.hold_min, extra, reefer_on_min)


def planned_arrivals(plan: Plan, registry: Registry, truck_id: str | None = None) -> list[float]:
    """Seconds after the simulation start at which the truck is planned at each stop."""
    truck_id = truck_id or plan.truck_id
    path = _path(plan, registry, truck_id)
    kms = _stop_km(plan, path)
    dwell = {round(s.km, 6): s.dwell_s for s in path.stops}
    for km, seconds in truck_plan(plan, registry, truck_id).stops:
        dwell[round(km, 6)] = max(dwell.get(round(km, 6), 0.0), seconds)
    depart_s = plan.hold_min * 60.0
    out = [0.0]
    for km in kms[1:]:
        standing = sum(s for k, s in dwell.items() if k < km - 1e-6)
        out.append(depart_s + km / PLAN_KMH * 3600.0 + standing)
    return out


def simulated_shipment(
    plan: Plan,
    registry: Registry,
    start: float,
    truck_id: str | None = None,
    *,
    window_shift_min: float = 0.0,
) -> Shipment:
    """The shipment of ``plan`` for a run starting at ``start`` (epoch s); windows from the
    planned arrivals, moved by ``window_shift_min`` (negative: earlier, so the truck is late)."""
    truck_id = truck_id or plan.truck_id
    path = _path(plan, registry, truck_id)
    arrivals = planned_arrivals(plan, registry, truck_id)
    stops = []
    for stop, planned_s in zip(plan.stops, arrivals, strict=True):
        waypoint = next(w for w in path.waypoints if w.name == stop.waypoint)
        at = round((start + planned_s + window_shift_min * 60.0) / 60.0) * 60.0  # whole minutes
        stops.append(
            Stop(
                stop_id=stop.stop_id,
                name=stop.name,
                kind=stop.kind,
                geofence=circle(waypoint.lat, waypoint.lon, FENCE_M),
                window_start=datetime.fromtimestamp(at - EARLY_MIN * 60.0, UTC),
                window_end=datetime.fromtimestamp(at + LATE_MIN * 60.0, UTC),
                drops=stop.drops,
            )
        )
    shipment = Shipment(
        shipment_id=shipment_id(plan, truck_id, start),
        reference=plan.reference,
        shipper=plan.shipper,
        receiver=plan.receiver,
        cargo=plan.cargo,
        truck_id=truck_id,
        probes=(),
        lots=plan.lots,
        stops=tuple(stops),
    )
    # Through the file parser: refused as a dispatcher's file would be (fences, lots, probes).
    return parse_shipment(to_document(shipment), registry)
