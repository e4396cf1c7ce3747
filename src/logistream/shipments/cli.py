"""``logistream shipments create|show|list|cancel|override|pod``: shipments from the command line.

Each command migrates the schema (the tables come with 0050), opens the owner's connection, and
first sends any shipment change Kafka has not acknowledged yet (``publish_pending``: a crash
between a commit and its publication heals here). A change is stored, then published on the
``shipments`` topic; if Kafka does not answer, the change stays stored and a warning says it is
sent at the next start. The user recorded as ``by`` is ``cli:<OS user>``, as ``logistream trucks
adopt|dismiss`` records it, except a proof of delivery (``pod``), which is signed ``--as`` a
dashboard user of the receiving organisation. Refusals are one line and exit 2
(``LogiStreamError``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import typer

from logistream.errors import NotFound
from logistream.outbox_cli import OutboxSession, outbox_session
from logistream.shipments import release_cli

if TYPE_CHECKING:
    from logistream.audit.trail import Actor
    from logistream.config import Endpoints, Settings
    from logistream.registry import Registry
    from logistream.shipments.publish import ShipmentPublisher
    from logistream.shipments.store import ShipmentStore


def _operator() -> str:
    from logistream.audit.actors import cli_user

    return cli_user()


def _actor(name: str | None = None, organisation: str | None = None) -> Actor:
    """The audit trail's actor of a command: the operator (or the ``--as`` user), source cli."""
    from logistream.audit.trail import Actor

    return Actor(name or _operator(), "cli", organisation)


_Session: TypeAlias = "OutboxSession[ShipmentPublisher, ShipmentStore]"


@contextlib.contextmanager
def _session() -> Iterator[_Session]:
    from logistream.shipments.publish import ShipmentPublisher
    from logistream.shipments.store import ShipmentStore

    def publisher(
        settings: Settings, endpoints: Endpoints, registry: Registry
    ) -> ShipmentPublisher:
        return ShipmentPublisher(settings, registry, endpoints)

    with outbox_session("shipment", publisher, ShipmentStore) as session:
        yield session


def _found(session: _Session, shipment_id: str) -> Any:
    record = session.store.get(shipment_id)
    if record is None:
        raise NotFound(
            "shipment",
            shipment_id,
            f"no shipment {shipment_id!r}; `logistream shipments list` shows the shipments",
        )
    return record


def create(
    file: Annotated[Path, typer.Argument(help="A shipment file, .toml or .json (see the docs).")],
) -> None:
    """Create a shipment from a file; prints its id and version."""
    from logistream.shipments.parse import load_shipment_file
    from logistream.shipments.store import new_record

    with _session() as session:
        shipment = load_shipment_file(file, session.store.registry)
        record = session.store.create(new_record(shipment), _operator(), actor=_actor())
        session.published(shipment.shipment_id)
    print(f"{shipment.shipment_id} version {record.version}: created")


def show_shipment(
    shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
) -> None:
    """Show a shipment: parties, truck, status, lots, stops with their windows, changes, and
    the proofs of delivery."""
    from logistream.shipments.text import summary

    with _session() as session:
        record = _found(session, shipment_id)
        changes = session.store.changes(shipment_id)
        print(
            "\n".join(
                summary(record, session.timezone, changes) + _pod_lines(record, session.timezone)
            )
        )


def list_shipments(
    status: Annotated[str | None, typer.Option(help="active, cancelled or delivered.")] = None,
    shipper: Annotated[str | None, typer.Option(help="Shipper organisation id.")] = None,
    receiver: Annotated[str | None, typer.Option(help="Receiver organisation id.")] = None,
    truck: Annotated[str | None, typer.Option(help="Truck id.")] = None,
) -> None:
    """List shipments, the newest first."""
    from logistream.shipments.errors import ShipmentError
    from logistream.shipments.text import table
    from logistream.shipments.wire import STATUSES

    if status is not None and status not in STATUSES:
        raise ShipmentError("--status", f"{status!r} is not one of {', '.join(STATUSES)}")
    with _session() as session:
        found = session.store.list(
            status=status,
            shipper=shipper,
            receiver=receiver,
            truck=truck,
        )
        if not found:
            print("No shipments match.")
            return
        print("\n".join(table(found, session.timezone)))


def cancel(
    shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the change log).")],
) -> None:
    """Cancel an active shipment; its truck is free for another."""
    with _session() as session:
        record = session.store.cancel(shipment_id, _operator(), reason, actor=_actor())
        session.published(shipment_id)
    print(f"{shipment_id} version {record.version}: cancelled")


def override(
    shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
    stage: Annotated[
        str,
        typer.Option(help="planned, at_origin, in_transit, at_stop, at_destination or delivered."),
    ],
    reason: Annotated[str, typer.Option(help="Why (kept in the change log).")],
    stop: Annotated[
        int | None,
        typer.Option(
            help="Stop index (0: the origin): the stop it is at, or last left for in_transit; "
            "needed when the stage fits several stops."
        ),
    ] = None,
) -> None:
    """Set a shipment's stage by hand (a dispatcher's override, logged)."""
    from logistream.shipments.errors import ShipmentError
    from logistream.shipments.model import STAGES
    from logistream.shipments.wire import StageOverride, stop_index_for, stop_indexes

    if stage not in STAGES:
        raise ShipmentError("--stage", f"{stage!r} is not a stage; use {', '.join(STAGES)}")
    chosen = stage
    with _session() as session:
        record = _found(session, shipment_id)
        index = stop if stop is not None else stop_index_for(record.shipment, chosen)
        if index is None:
            fits = stop_indexes(record.shipment, chosen)
            raise ShipmentError(
                "--stop", f"stage {stage} fits stops {fits[0]} to {fits[-1]}; say which"
            )
        change = StageOverride(chosen, index, _operator(), datetime.now(UTC), reason)
        updated = session.store.override_stage(shipment_id, change, actor=_actor())
        session.published(shipment_id)
    print(f"{shipment_id} version {updated.version}: stage set to {stage} (stop {index})")


def _pod_lines(record: Any, timezone: str) -> list[str]:
    """The proofs of delivery under the summary: lot, decision, stop, signer, time, note."""
    from logistream.display_time import show

    if not record.pods:
        return []
    lines = ["", "Proof of delivery"]
    for p in record.pods:
        note = f": {p.note}" if p.note else ""
        lines.append(
            f"  {p.lot} {p.decision} at {record.shipment.stops[p.stop_index].stop_id} by "
            f"{p.name} (recorded by {p.by}) at {show(p.at, timezone)}{note}"
        )
    return lines


def _temperature_line(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "temperature: not known"

    def celsius(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.1f} °C"

    return (
        f"temperature up to the handover: {summary.get('readings', 0)} readings, "
        f"min {celsius('min_c')}, max {celsius('max_c')}, MKT {celsius('mkt_c')}, "
        f"{summary.get('tor_min', 0):.0f} min out of range, "
        f"{summary.get('excursions', 0)} excursion(s)"
    )


def pod(
    shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
    stop: Annotated[str, typer.Option(help="The stop id where the lot is handed over.")],
    lot: Annotated[str, typer.Option(help="The lot number.")],
    name: Annotated[str, typer.Option(help="Printed name of who signs for the lot.")],
    as_user: Annotated[
        str,
        typer.Option(
            "--as", help="The dashboard user recording it (of the receiving organisation)."
        ),
    ],
    accept: Annotated[
        bool | None, typer.Option("--accept/--reject", help="Accept or reject the lot.")
    ] = None,
    note: Annotated[str, typer.Option(help="A note (kept with the PoD).")] = "",
) -> None:
    """Record a lot's proof of delivery: accepted or rejected by the receiver at its stop."""
    from logistream.shipments.errors import ShipmentError
    from logistream.shipments.pod import PodRequest

    if accept is None:
        raise ShipmentError("--accept/--reject", "missing; say whether the lot is accepted")
    request = PodRequest(
        stop_id=stop,
        lot=lot,
        decision="accepted" if accept else "rejected",
        name=name,
        at=datetime.now(UTC),
        note=note,
    )
    with _session() as session:
        signatory = session.store.signatory(as_user)
        record = session.store.record_pod(
            shipment_id, request, signatory, actor=_actor(as_user, signatory.organisation)
        )
        summary = session.store.pod_temperature(shipment_id, lot)
        session.published(shipment_id)
    done = "; shipment delivered" if record.status == "delivered" else ""
    print(
        f"{shipment_id} version {record.version}: lot {lot} {request.decision} at {stop} "
        f"by {' '.join(name.split())} (recorded by {as_user}){done}"
    )
    print(_temperature_line(summary))


def register(app: typer.Typer) -> None:
    shipments_app = typer.Typer(
        help="Shipments: lots carried by one truck through geofenced stops.",
        no_args_is_help=True,
        add_completion=False,
    )
    shipments_app.command("create")(create)
    shipments_app.command("show")(show_shipment)
    shipments_app.command("list")(list_shipments)
    shipments_app.command("cancel")(cancel)
    shipments_app.command("override")(override)
    shipments_app.command("release")(release_cli.release)
    shipments_app.command("pod")(pod)
    app.add_typer(shipments_app, name="shipments")
