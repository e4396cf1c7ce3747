"""A quality manager's decision on a lot: released or quarantined, by whom, when and why.

Stored in ``lot_releases`` (migration 0053), append-only: a lot quarantined on arrival may be
released after an investigation, and the log keeps both; the newest decision counts. The
decision is the person's, beside the release verdict the figures give (the shipment report
shows both): releasing a lot the verdict fails is allowed, and the reason says why.
A decision names a lot of that shipment; a reason is required; a cancelled shipment's lots
may still be decided (the goods exist). Written with the owner's connection.

Each decision appends its audit line (``audit.trail.record``) in the same transaction: action
``release_lot`` or ``quarantine_lot``, subject ``lot`` ``SHIPMENT/LOT``, before = the decision
that counted until then (or null), after = the new one, the reason. Who: the caller's ``actor``
(the CLI and the dashboard pass one), else derived from ``by`` as the shipment store does
(``store.audit_actor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from logistream.audit.trail import Actor
from logistream.audit.trail import record as audit_record
from logistream.errors import NotFound
from logistream.shipments.errors import ShipmentError
from logistream.shipments.store import audit_actor

if TYPE_CHECKING:
    import psycopg

Decision = Literal["released", "quarantined"]
DECISIONS: Final[tuple[Decision, ...]] = get_args(Decision)


@dataclass(frozen=True, slots=True)
class LotRelease:
    shipment_id: str
    lot: str
    decision: Decision
    by: str
    at: datetime
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "by": self.by,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }


_COLUMNS = "shipment_id, lot_number, decision, decided_by, decided_at, reason"


def record_release(
    conn: psycopg.Connection[Any],
    shipment_id: str,
    lot: str,
    decision: str,
    by: str,
    reason: str,
    *,
    actor: Actor | None = None,
) -> LotRelease:
    """Log the decision (one row, committed on its own); refused with one line when the
    shipment or the lot is unknown, the decision is not one of :data:`DECISIONS`, or who or
    why is missing."""
    if decision not in DECISIONS:
        raise ShipmentError("decision", f"{decision!r}: use released or quarantined")
    by, reason = by.strip(), reason.strip()
    if not 1 <= len(by) <= 128:
        raise ShipmentError("by", "give the user name of who decides (1 to 128 chars)")
    if not 1 <= len(reason) <= 2000:
        raise ShipmentError("--reason", "say why the lot is released or quarantined")
    with conn.transaction():
        known = conn.execute(
            "SELECT EXISTS (SELECT FROM shipments WHERE shipment_id = %s), "
            "EXISTS (SELECT FROM shipment_lots WHERE shipment_id = %s AND lot_number = %s)",
            [shipment_id, shipment_id, lot],
        ).fetchone()
        assert known is not None
        if not known[0]:
            raise NotFound(
                "shipment",
                shipment_id,
                f"no shipment {shipment_id!r}; `logistream shipments list` shows the shipments",
            )
        if not known[1]:
            raise ShipmentError(
                "LOT", f"{lot!r} is not a lot of shipment {shipment_id}; see its lots with "
                f"`logistream shipments show {shipment_id}`",
            )  # fmt: skip
        previous = conn.execute(
            "SELECT decision, decided_by FROM lot_releases WHERE shipment_id = %s "
            "AND lot_number = %s ORDER BY decided_at DESC, release_id DESC LIMIT 1",
            [shipment_id, lot],
        ).fetchone()
        row = conn.execute(
            "INSERT INTO lot_releases (shipment_id, lot_number, decision, decided_by, reason) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            [shipment_id, lot, decision, by, reason],
        ).fetchone()
        audit_record(
            conn,
            audit_actor(by, actor),
            action="release_lot" if decision == "released" else "quarantine_lot",
            subject_kind="lot",
            subject_id=f"{shipment_id}/{lot}",
            before=None if previous is None else {"decision": previous[0], "by": previous[1]},
            after={"decision": decision, "by": by},
            reason=reason,
        )
    assert row is not None
    return LotRelease(*row)


def release_log(conn: psycopg.Connection[Any], shipment_id: str) -> list[LotRelease]:
    """Every decision on the shipment's lots, oldest first (works with the reader role)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM lot_releases WHERE shipment_id = %s "
        "ORDER BY decided_at, release_id",
        [shipment_id],
    ).fetchall()
    return [LotRelease(*row) for row in rows]


def latest_releases(conn: psycopg.Connection[Any], shipment_id: str) -> dict[str, LotRelease]:
    """The decision that counts, per lot number (lots never decided are absent)."""
    return {r.lot: r for r in release_log(conn, shipment_id)}
