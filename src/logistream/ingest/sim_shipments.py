"""The shipments of a simulated run: which plans on which trucks, and storing them before it.

A scenario that carries shipments (``[[shipment]]``) gives them; otherwise a run with shipments
gets every plan of ``shipment_plans.PLANS`` whose truck is in the run. Before the simulator
streams, each is created through the shipment store (PostgreSQL, the source of truth) and
published on the compacted ``shipments`` topic, as ``logistream shipments create`` does, so the
speed layer learns it from the topic. Idempotent: a truck that already carries an active
shipment keeps it (a second run from the same start finds its own shipments there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from logistream.config import Settings
from logistream.errors import ConfigError, LogiStreamError
from logistream.ingest.shipment_plans import (
    PLANS,
    TruckPlan,
    plan_named,
    simulated_shipment,
    truck_plan,
)
from logistream.registry.models import Registry
from logistream.registry.scenarios import Scenario, ShipmentSpec
from logistream.shipments.model import Shipment

SIMULATOR: str = "simulator"
"""Who the change log says created the run's shipments."""


@dataclass(frozen=True, slots=True)
class RunShipment:
    spec: ShipmentSpec
    shipment: Shipment
    truck: TruckPlan


def run_shipments(
    scenario: Scenario, registry: Registry, trucks: Iterable[str], start: float
) -> list[RunShipment]:
    """The shipments of a run starting at ``start`` with ``trucks``: the scenario's, else one
    per plan whose truck runs. A scenario's shipment on a truck outside the run is refused."""
    running = set(trucks)
    specs = list(scenario.shipments) or [
        ShipmentSpec(name=p.name, plan=p.name, truck=p.truck_id)
        for p in PLANS.values()
        if p.truck_id in running
    ]
    out = []
    for spec in specs:
        if spec.truck not in running:
            raise ConfigError(f"shipment {spec.name}: truck {spec.truck} is not in the run")
        plan = plan_named(spec.plan)
        shipment = simulated_shipment(
            plan, registry, start, spec.truck, window_shift_min=spec.window_shift_min
        )
        sim = truck_plan(plan, registry, spec.truck, reefer_on_min=spec.reefer_on_min)
        out.append(RunShipment(spec, shipment, sim))
    return out


def create_shipments(
    settings: Settings,
    registry: Registry,
    shipments: list[RunShipment],
    log: Callable[[str], None],
) -> list[str]:
    """Store and publish each shipment unless its truck already carries an active one; the ids
    of the trucks' active shipments afterwards, in order."""
    import psycopg

    from logistream.config import resolve_endpoints
    from logistream.schema.migrate import migrate
    from logistream.shipments.publish import ShipmentPublisher, ensure_topic
    from logistream.shipments.store import ShipmentStore, new_record

    endpoints = resolve_endpoints(settings)
    migrate(settings, endpoints.database_url)
    ensure_topic(settings, endpoints)
    try:
        conn = psycopg.connect(endpoints.database_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({str(error).strip()}); "
            "check it, or run `logistream stack up`, or simulate with --no-shipments"
        ) from error
    publisher = ShipmentPublisher(settings, registry, endpoints)
    ids = []
    with conn:
        try:
            publisher.publish_pending(conn)
            store = ShipmentStore(conn, registry)
            for item in shipments:
                shipment = item.shipment
                active = store.list(truck=shipment.truck_id, status="active")
                if active:
                    kept = active[0].shipment.shipment_id
                    log(f"shipment {kept} on {shipment.truck_id}: kept (already active)")
                    ids.append(kept)
                    continue
                store.create(new_record(shipment), SIMULATOR)
                try:
                    publisher.publish(conn, shipment.shipment_id)
                except LogiStreamError as error:
                    log(f"warning: {error} (sent at the next start)")
                log(f"shipment {shipment.shipment_id} on {shipment.truck_id}: created")
                ids.append(shipment.shipment_id)
        finally:
            publisher.close()
    return ids


def truck_plans(shipments: list[RunShipment], kept: list[str]) -> dict[str, TruckPlan]:
    """The simulator's part of the shipments created for this run (a kept older shipment leaves
    its truck as the fleet file has it)."""
    return {
        s.truck.truck_id: s.truck
        for s, active in zip(shipments, kept, strict=True)
        if s.shipment.shipment_id == active
    }
