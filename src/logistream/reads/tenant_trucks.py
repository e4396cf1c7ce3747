"""Which trucks an organisation may see now (issue 18: "the trucks only while they carry them").

A shipper or receiver sees a truck while a shipment it is party to is ``active`` on it (from its
creation until it is delivered or cancelled, migration 0050; a truck carries one active
shipment at a time, a unique index), and of that truck only what happened from the shipment's
``created_at`` on: an alert opened earlier is the previous customer's. This is read from the
shipments table alone, through :func:`logistream.reads.tenancy.scoped`, so PostgreSQL's
row-level security (0054) picks the organisation's shipments; whatever role ``scoped`` reads
under (the reader, or the tenant role for a shipper), only ``shipments`` is touched.

The live views (Redis) have no organisations: the API's trucks, open alerts and live stream and
the dashboard's live map filter them with this one answer, :func:`trucks_in_care`, and the one
rule :func:`in_care`.

Choices where the issue is silent:
- the window starts at the shipment's ``created_at`` (wall clock), compared with an alert's
  ``opened_at`` (event time): a truck's alerts opened before its shipment was booked are not
  the shipper's, even while still open.
- for the carrier the answer is only the trucks with an active shipment: the carrier sees every
  truck, so callers ask :func:`logistream.reads.tenancy.is_carrier` first and do not filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.events import SEVERITY_ORDER
from logistream.reads.tenancy import scoped

if TYPE_CHECKING:
    import psycopg


def trucks_in_care(conn: psycopg.Connection[Any], organisation: str) -> dict[str, datetime]:
    """Truck id -> the start of its window (its active shipment's ``created_at``), for the
    trucks carrying a shipment ``organisation`` is party to now."""
    with scoped(conn, organisation):
        rows = conn.execute(
            "SELECT truck_id, created_at FROM shipments WHERE status = 'active'"
        ).fetchall()
    return {str(truck_id): created_at for truck_id, created_at in rows}


def in_care(windows: Mapping[str, datetime | float], truck_id: str, at: float) -> bool:
    """Whether something of ``truck_id`` at ``at`` (Unix seconds, e.g. an alert's
    ``opened_at``) is within a window of :func:`trucks_in_care` (datetimes, or their Unix
    seconds)."""
    start = windows.get(truck_id)
    if start is None:
        return False
    begins = start.timestamp() if isinstance(start, datetime) else start
    return at >= begins


def status_for(status: str, severities: Iterable[str]) -> str:
    """A truck's status from the alerts a tenant is shown of it (as the speed layer's
    ``status_of``): ``offline`` stays (the truck is silent now, whoever's cargo it carried),
    else the worst severity shown, else ``ok``. The API's and the dashboard's one rule."""
    if status == "offline":
        return status
    return min(severities, key=lambda s: SEVERITY_ORDER.get(s, len(SEVERITY_ORDER)), default="ok")
