"""Shipments in PostgreSQL, the source of truth (migrations 0050, 0051): create, read, cancel,
set the stage by hand, and record a lot's proof of delivery, each change one transaction that
bumps the version and logs who, when, why.

``ShipmentStore(conn, registry)`` works on any connection allowed to write the shipments tables
(the owner's: the CLI, the API's owner connection), autocommit or not: each write is its own
``conn.transaction()``. Nothing is half-stored: a refused shipment leaves no row anywhere.
A truck carries one active shipment at a time; the partial unique index
``shipments_one_active_per_truck`` makes that a database fact, and a refusal names the other
shipment. Rows are read back through ``wire.record_from_document``, so a stored shipment is
validated against the registry exactly as one read from the Kafka topic is.

A proof of delivery (``record_pod``; who may sign and what is refused: ``pod.py``) is checked
under the shipment's row lock, stored in ``shipment_pod`` with the lot's temperature summary up
to the signature (``pod_temperature.py``), and carried by the record (``ShipmentRecord.pods``);
when every lot has one, the shipment is ``delivered`` (its truck is free again).

Publishing on the ``shipments`` topic is not done here: the row is the outbox
(``published_version < version``) and ``publish.py`` sends it after the commit.

Every change also appends its line to the audit trail (``audit.trail.record``) inside its own
transaction, so the change and its audit row commit or vanish together. Who is recorded: each
write takes an optional ``actor`` (``audit.trail.Actor``: name, source, organisation), which the
CLI, the API routes and the dashboard pass. Without one (older callers, the simulator) it is
derived from ``by``: ``cli`` or ``cli:<user>`` is source ``cli``, anything else ``service``, of
no organisation; a PoD without one takes the signatory's organisation. What is recorded (the
issue is silent on the shapes): ``create_shipment`` (subject ``shipment``; after: a summary, the
id, truck, shipper, receiver, lot numbers and stop ids, not the whole document);
``cancel_shipment`` (before/after: status and version; the reason); ``override_stage`` (before:
the override in force, or null, since the live stage is the speed layer's; after: the new stage
and stop); ``record_pod`` (subject ``lot``, id ``SHIPMENT/LOT``; after: decision, signer, stop;
the note as the reason).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from logistream.audit.trail import Actor
from logistream.audit.trail import record as audit_record
from logistream.errors import NotFound
from logistream.registry import Registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import Shipment
from logistream.shipments.pod import (
    PodRequest,
    ProofOfDelivery,
    Signatory,
    all_signed,
    check_pod,
    pod_document,
)
from logistream.shipments.wire import (
    STATUSES,
    ShipmentRecord,
    ShipmentStatus,
    StageOverride,
    check_override,
    override_document,
    record_from_document,
    to_document,
)

if TYPE_CHECKING:
    import psycopg

    from logistream.audit.trail import AuditSource

ChangeKind = Literal["created", "cancelled", "stage_overridden", "pod_recorded"]

ONE_ACTIVE_PER_TRUCK: Final = "shipments_one_active_per_truck"
"""The partial unique index behind "one active shipment per truck" (0050_shipments.sql)."""

RECORD_COLUMNS: Final = (
    "document, status, version, updated_at, stage_override, "
    "(SELECT coalesce(jsonb_agg(jsonb_build_object("
    "'stop_index', p.stop_index, 'lot', p.lot_number, 'decision', p.decision, "
    "'by', p.recorded_by, 'name', p.signer_name, 'at', p.signed_at, 'note', p.note"
    ") ORDER BY p.stop_index, p.lot_number), '[]'::jsonb) "
    "FROM shipment_pod p WHERE p.shipment_id = shipments.shipment_id) AS pods"
)
"""The columns :func:`record_from_row` reads, in its order (``FROM shipments``)."""

TemperatureSummary = Callable[
    ["psycopg.Connection[Any]", ShipmentRecord, str, datetime, Registry], Mapping[str, Any]
]
"""A lot's temperature summary up to a time (``pod_temperature.lot_temperature``)."""


@dataclass(frozen=True, slots=True)
class ShipmentChange:
    """One line of ``shipment_changes``: the change that made ``version``."""

    version: int
    change: ChangeKind
    by: str
    at: datetime
    reason: str
    detail: dict[str, Any] | None


def new_record(shipment: Shipment, at: datetime | None = None) -> ShipmentRecord:
    """The record of a shipment about to be created: active, version 1, stamped ``at`` (now)."""
    return ShipmentRecord(shipment, "active", 1, at or datetime.now(UTC))


def record_from_row(row: Sequence[Any], registry: Registry) -> ShipmentRecord:
    """The record of a ``SELECT {RECORD_COLUMNS}`` row, validated as one from the topic is."""
    document, status, version, updated_at, override, pods = row[:6]
    return record_from_document(
        {
            "shipment": document,
            "status": status,
            "version": version,
            "updated_at": updated_at.isoformat(),
            "override": override,
            "pods": pods,
        },
        registry,
    )


def _not_found(shipment_id: str) -> NotFound:
    return NotFound(
        "shipment",
        shipment_id,
        f"no shipment {shipment_id!r}; `logistream shipments list` shows the shipments",
    )


def _check_by(by: str) -> str:
    by = by.strip()
    if not 1 <= len(by) <= 128:
        raise ShipmentError("by", "give the user name of who makes the change (1 to 128 chars)")
    return by


def audit_actor(by: str, actor: Actor | None, organisation: str | None = None) -> Actor:
    """The actor the audit trail records: ``actor`` when the caller gives one, else one derived
    from ``by`` (``cli``/``cli:<user>``: the CLI; anything else: a service)."""
    if actor is not None:
        return actor
    by = by.strip()
    source: AuditSource = "cli" if by == "cli" or by.startswith("cli:") else "service"
    return Actor(by, source, organisation)


def shipment_summary(record: ShipmentRecord) -> dict[str, Any]:
    """What the audit trail keeps of a created shipment (not the whole document)."""
    s = record.shipment
    return {
        "shipment_id": s.shipment_id,
        "truck_id": s.truck_id,
        "shipper": s.shipper.org_id,
        "receiver": s.receiver.org_id,
        "lots": [lot.number for lot in s.lots],
        "stops": [stop.stop_id for stop in s.stops],
        "status": record.status,
        "version": record.version,
    }


def _override_view(override: StageOverride | None) -> dict[str, Any] | None:
    if override is None:
        return None
    return {"stage": override.stage, "stop_index": override.stop_index}


class ShipmentStore:
    """The shipments tables on one connection; see the module docstring."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        registry: Registry,
        temperature: TemperatureSummary | None = None,
    ) -> None:
        self._conn = conn
        self._registry = registry
        self._temperature = temperature

    @property
    def registry(self) -> Registry:
        """The registry records are validated against."""
        return self._registry

    # ---- writes ------------------------------------------------------------------------------

    def create(
        self, record: ShipmentRecord, by: str, *, actor: Actor | None = None
    ) -> ShipmentRecord:
        """Store a new shipment (status active, version 1; see :func:`new_record`).

        Refused (``ShipmentError``, nothing stored): an id already used (``shipment_id``), a
        truck already carrying another active shipment (``truck_id``, naming it).
        """
        import psycopg

        by = _check_by(by)
        if record.version != 1 or record.status != "active":
            raise ShipmentError("version", "a new shipment is active at version 1 (new_record)")
        shipment = record.shipment
        try:
            with self._conn.transaction():
                self._refuse_taken(shipment)
                self._insert(record, by)
                audit_record(
                    self._conn,
                    audit_actor(by, actor),
                    action="create_shipment",
                    subject_kind="shipment",
                    subject_id=shipment.shipment_id,
                    before=None,
                    after=shipment_summary(record),
                )
        except psycopg.errors.UniqueViolation as error:
            # Another writer got there between the checks and the insert: the same refusals.
            self._refuse_taken(shipment)
            raise ShipmentError(
                "shipment_id", f"{shipment.shipment_id!r} was refused by the database ({error})"
            ) from error
        return record

    def cancel(
        self, shipment_id: str, by: str, reason: str, *, actor: Actor | None = None
    ) -> ShipmentRecord:
        """Cancel an active shipment (its truck is free again); logged with ``reason``."""
        by = _check_by(by)
        if not reason.strip():
            raise ShipmentError("reason", "missing; say why the shipment is cancelled")
        with self._conn.transaction():
            current = self._locked(shipment_id)
            self._refuse_unless_active(current, "cancelled")
            updated = self._change(current, "cancelled", by, reason.strip(), status="cancelled")
            audit_record(
                self._conn,
                audit_actor(by, actor),
                action="cancel_shipment",
                subject_kind="shipment",
                subject_id=shipment_id,
                before={"status": current.status, "version": current.version},
                after={"status": updated.status, "version": updated.version},
                reason=reason.strip(),
            )
            return updated

    def override_stage(
        self, shipment_id: str, override: StageOverride, *, actor: Actor | None = None
    ) -> ShipmentRecord:
        """Set an active shipment's stage by hand (the speed layer learns it from the topic);
        logged with who, when and why; the record keeps the latest override."""
        _check_by(override.by)
        with self._conn.transaction():
            current = self._locked(shipment_id)
            self._refuse_unless_active(current, "given a stage by hand")
            check_override(current.shipment, override)
            updated = self._change(
                current,
                "stage_overridden",
                override.by.strip(),
                override.reason.strip(),
                override=override,
                detail={"stage": override.stage, "stop_index": override.stop_index},
                at=override.at,
            )
            audit_record(
                self._conn,
                audit_actor(override.by, actor),
                action="override_stage",
                subject_kind="shipment",
                subject_id=shipment_id,
                before=_override_view(current.override),
                after=_override_view(override),
                reason=override.reason.strip(),
            )
            return updated

    def record_pod(
        self,
        shipment_id: str,
        request: PodRequest,
        signatory: Signatory,
        *,
        actor: Actor | None = None,
    ) -> ShipmentRecord:
        """Record a lot's proof of delivery (``pod.check_pod`` says what is refused, with
        ``ShipmentError``, nothing stored); the record made, whose ``pods`` carry it. The
        shipment becomes ``delivered`` when every lot has its PoD. Logged as ``pod_recorded``,
        with the note as the reason."""
        with self._conn.transaction():
            current = self._locked(shipment_id)
            pod = check_pod(current.shipment, current.status, current.pods, request, signatory)
            temperature = self._lot_temperature(current, pod)
            pods = tuple(sorted((*current.pods, pod), key=lambda p: (p.stop_index, p.lot)))
            delivered = all_signed(current.shipment, pods)
            detail = pod_document(pod)
            detail["stop_id"] = current.shipment.stops[pod.stop_index].stop_id
            detail["organisation"] = signatory.organisation
            updated = self._change(
                current,
                "pod_recorded",
                pod.by,
                pod.note,
                status="delivered" if delivered else None,
                pods=pods,
                detail=detail,
            )
            self._insert_pod(current.shipment, pod, signatory, temperature, updated.version)
            audit_record(
                self._conn,
                audit_actor(pod.by, actor, signatory.organisation),
                action="record_pod",
                subject_kind="lot",
                subject_id=f"{shipment_id}/{pod.lot}",
                before=None,
                after={
                    "decision": pod.decision,
                    "signer": pod.name,
                    "stop": detail["stop_id"],
                    "shipment_status": updated.status,
                },
                reason=pod.note or None,
            )
            return updated

    def signatory(self, user: str) -> Signatory:
        """A dashboard user as a signer: its name and organisation (``users``, migration 0022);
        ``ShipmentError`` when there is no such user."""
        row = self._conn.execute(
            "SELECT organisation FROM users WHERE name = %s", (user,)
        ).fetchone()
        if row is None:
            raise ShipmentError(
                "user", f"no user {user!r}; `logistream users list` shows the users"
            )
        return Signatory(user, None if row[0] in (None, "carrier") else str(row[0]))

    # ---- reads -------------------------------------------------------------------------------

    def get(self, shipment_id: str) -> ShipmentRecord | None:
        """The shipment's current record, or None."""
        row = self._conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM shipments WHERE shipment_id = %s", (shipment_id,)
        ).fetchone()
        return None if row is None else self._record(row)

    def pod_temperature(self, shipment_id: str, lot_number: str) -> dict[str, Any] | None:
        """The temperature summary stored with the lot's PoD, or None (no PoD)."""
        row = self._conn.execute(
            "SELECT temperature FROM shipment_pod WHERE shipment_id = %s AND lot_number = %s",
            (shipment_id, lot_number),
        ).fetchone()
        return None if row is None else dict(row[0])

    def changes(self, shipment_id: str) -> builtins.list[ShipmentChange]:
        """The shipment's change log, oldest first."""
        rows = self._conn.execute(
            "SELECT version, change, changed_by, changed_at, reason, detail "
            "FROM shipment_changes WHERE shipment_id = %s ORDER BY version",
            (shipment_id,),
        ).fetchall()
        return [ShipmentChange(*row) for row in rows]

    def list(
        self,
        *,
        status: ShipmentStatus | None = None,
        shipper: str | None = None,
        receiver: str | None = None,
        truck: str | None = None,
    ) -> builtins.list[ShipmentRecord]:
        """Shipments matching every filter given (shipper and receiver by organisation id),
        the newest first."""
        if status is not None and status not in STATUSES:
            raise ShipmentError("status", f"{status!r} is not one of {', '.join(STATUSES)}")
        where: builtins.list[str] = []
        params: builtins.list[str] = []
        for column, value in (
            ("status", status), ("shipper_id", shipper), ("receiver_id", receiver),
            ("truck_id", truck),
        ):  # fmt: skip
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM shipments {clause} "
            "ORDER BY created_at DESC, shipment_id",
            params,
        ).fetchall()
        return [self._record(row) for row in rows]

    # ---- inside ------------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> ShipmentRecord:
        return record_from_row(row, self._registry)

    def _refuse_taken(self, shipment: Shipment) -> None:
        taken = self._conn.execute(
            "SELECT 1 FROM shipments WHERE shipment_id = %s", (shipment.shipment_id,)
        ).fetchone()
        if taken is not None:
            raise ShipmentError(
                "shipment_id",
                f"{shipment.shipment_id!r} already exists; give the new shipment its own id",
            )
        other = self._conn.execute(
            "SELECT shipment_id FROM shipments WHERE truck_id = %s AND status = 'active'",
            (shipment.truck_id,),
        ).fetchone()
        if other is not None:
            raise ShipmentError(
                "truck_id",
                f"{shipment.truck_id} already carries active shipment {other[0]!r}; "
                "cancel that one first or choose another truck",
            )

    def _insert(self, record: ShipmentRecord, by: str) -> None:
        from psycopg.types.json import Jsonb

        s = record.shipment
        document = to_document(s)
        self._conn.execute(
            "INSERT INTO shipments (shipment_id, reference, shipper_id, shipper_name, "
            "receiver_id, receiver_name, cargo, truck_id, status, version, document, "
            "created_at, created_by, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                s.shipment_id, s.reference, s.shipper.org_id, s.shipper.name, s.receiver.org_id,
                s.receiver.name, s.cargo, s.truck_id, record.status, record.version,
                Jsonb(document), record.updated_at, by, record.updated_at,
            ),
        )  # fmt: skip
        with self._conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO shipment_lots (shipment_id, position, lot_number, product, "
                "quantity, unit, expiry) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (s.shipment_id, i, lot.number, lot.product, lot.quantity, lot.unit, lot.expiry)
                    for i, lot in enumerate(s.lots)
                ],
            )
            cur.executemany(
                "INSERT INTO shipment_stops (shipment_id, position, stop_id, name, kind, "
                "geofence, window_start, window_end, drops) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        s.shipment_id,
                        i,
                        stop.stop_id,
                        stop.name,
                        stop.kind,
                        Jsonb(document["stops"][i]["geofence"]),
                        stop.window_start,
                        stop.window_end,
                        list(stop.drops),
                    )
                    for i, stop in enumerate(s.stops)
                ],
            )
        self._log(s.shipment_id, record.version, "created", by, "", None, record.updated_at)

    def _lot_temperature(self, record: ShipmentRecord, pod: ProofOfDelivery) -> Mapping[str, Any]:
        if self._temperature is not None:
            return self._temperature(self._conn, record, pod.lot, pod.at, self._registry)
        from logistream.shipments.pod_temperature import lot_temperature

        return lot_temperature(self._conn, record, pod.lot, pod.at, self._registry)

    def _insert_pod(
        self,
        shipment: Shipment,
        pod: ProofOfDelivery,
        signatory: Signatory,
        temperature: Mapping[str, Any],
        version: int,
    ) -> None:
        from psycopg.types.json import Jsonb

        self._conn.execute(
            "INSERT INTO shipment_pod (shipment_id, lot_number, stop_index, stop_id, decision, "
            "recorded_by, signer_name, organisation, signed_at, note, temperature, version) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                shipment.shipment_id, pod.lot, pod.stop_index,
                shipment.stops[pod.stop_index].stop_id, pod.decision, pod.by, pod.name,
                signatory.organisation, pod.at, pod.note, Jsonb(dict(temperature)), version,
            ),
        )  # fmt: skip

    def _locked(self, shipment_id: str) -> ShipmentRecord:
        # Lock, then read: a statement that waited on the lock sees the row's new version but
        # its PoDs subquery keeps the statement's older snapshot; the next statement sees all
        # the lock holder committed (a test races two signers for the last lots).
        locked = self._conn.execute(
            "SELECT 1 FROM shipments WHERE shipment_id = %s FOR UPDATE", (shipment_id,)
        ).fetchone()
        if locked is None:
            raise _not_found(shipment_id)
        row = self._conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM shipments WHERE shipment_id = %s", (shipment_id,)
        ).fetchone()
        assert row is not None  # locked: it cannot be gone
        return self._record(row)

    @staticmethod
    def _refuse_unless_active(current: ShipmentRecord, what: str) -> None:
        if current.status != "active":
            raise ShipmentError(
                "status",
                f"shipment {current.shipment.shipment_id!r} is {current.status}; only an active "
                f"shipment can be {what}",
            )

    def _change(
        self,
        current: ShipmentRecord,
        change: ChangeKind,
        by: str,
        reason: str,
        *,
        status: ShipmentStatus | None = None,
        override: StageOverride | None = None,
        pods: tuple[ProofOfDelivery, ...] | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> ShipmentRecord:
        from psycopg.types.json import Jsonb

        now = datetime.now(UTC)
        updated = ShipmentRecord(
            shipment=current.shipment,
            status=status or current.status,
            version=current.version + 1,
            updated_at=now,
            override=override or current.override,
            pods=current.pods if pods is None else pods,
        )
        self._conn.execute(
            "UPDATE shipments SET status = %s, version = %s, updated_at = %s, "
            "stage_override = %s WHERE shipment_id = %s",
            (
                updated.status,
                updated.version,
                now,
                None if updated.override is None else Jsonb(override_document(updated.override)),
                current.shipment.shipment_id,
            ),
        )
        self._log(
            current.shipment.shipment_id, updated.version, change, by, reason, detail, at or now
        )
        return updated

    def _log(
        self,
        shipment_id: str,
        version: int,
        change: ChangeKind,
        by: str,
        reason: str,
        detail: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        from psycopg.types.json import Jsonb

        self._conn.execute(
            "INSERT INTO shipment_changes (shipment_id, version, change, changed_by, changed_at, "
            "reason, detail) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                shipment_id,
                version,
                change,
                by,
                at,
                reason,
                None if detail is None else Jsonb(detail),
            ),
        )
