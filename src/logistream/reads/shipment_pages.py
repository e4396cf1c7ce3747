"""The API's keyset-paged list of shipments: the newest created first, as read-only records.

Like ``pages.py``, a page asks for one row more than ``limit`` so the caller knows whether
another follows; the key is ``(created_at, shipment_id)``, so a shipment created while a client
pages never shifts a page boundary. Rows are read back through the store's
``record_from_row``: the same validation as ``ShipmentStore.list`` (which has no paging).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.registry import Registry
from logistream.shipments.store import RECORD_COLUMNS, record_from_row
from logistream.shipments.wire import ShipmentRecord

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class ShipmentFilter:
    """Every field given must match; ``ids`` (None: any) narrows to those shipment ids."""

    status: str | None = None
    shipper: str | None = None
    receiver: str | None = None
    truck: str | None = None
    ids: tuple[str, ...] | None = None


def shipments_where(f: ShipmentFilter, after: tuple[datetime, str] | None) -> tuple[str, list[Any]]:
    """WHERE clause and parameters over ``shipments`` for ``f``, after a keyset position of the
    newest-first order."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("status", f.status), ("shipper_id", f.shipper), ("receiver_id", f.receiver),
        ("truck_id", f.truck),
    ):  # fmt: skip
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if f.ids is not None:
        clauses.append("shipment_id = ANY(%s)")
        params.append(list(f.ids))
    if after is not None:
        clauses.append("(created_at, shipment_id) < (%s, %s)")
        params.extend(after)
    return (" AND ".join(clauses) or "true"), params


def shipments_page(
    conn: psycopg.Connection[Any],
    registry: Registry,
    f: ShipmentFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[datetime, ShipmentRecord]]:
    """Up to ``limit + 1`` shipments matching ``f`` after ``after``, each with its creation
    time, the newest first."""
    where, params = shipments_where(f, after)
    rows = conn.execute(
        f"SELECT {RECORD_COLUMNS}, created_at FROM shipments WHERE {where} "
        "ORDER BY created_at DESC, shipment_id DESC LIMIT %s".encode(),
        [*params, limit + 1],
    ).fetchall()
    # created_at comes last: the record's columns may grow.
    return [(row[-1], record_from_row(row, registry)) for row in rows]
