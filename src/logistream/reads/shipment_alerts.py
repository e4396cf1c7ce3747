"""A shipment's alerts: the archived alert changes of its truck while the truck carried it.

The window of a shipment is its ``created_at`` (0050) up to its end: a shipment no longer
active (cancelled or delivered) changes no more, so its end is the time of its last logged
change (``shipment_changes``: the cancellation, or the proof of delivery that delivered it);
an active shipment's window is open. A change of an alert belongs to the shipment when its
``changed_at`` lies in that window, ends included (the change's own time, as
``GET /v1/alerts?since=&until=`` filters).

Read on a connection inside ``reads.tenancy.scoped``: the shipment row is read under
row-level security (0054), so a shipment the organisation is not party to has no window and
yields nothing; the alert rows come only through that join, never by truck alone.

Choice where the issue is silent: an alert raised because of the shipment after it ended (a
``lot_rejected`` on the last lot's rejection, which delivers the shipment) falls after the
window and is not listed; the shipment's record and report keep the rejection itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.reads.pages import HISTORY_COLUMNS, Record

if TYPE_CHECKING:
    import psycopg

WINDOW_END: Final = (
    "CASE WHEN s.status = 'active' THEN NULL ELSE (SELECT max(c.changed_at) "
    "FROM shipment_changes c WHERE c.shipment_id = s.shipment_id) END"
)
"""The end of shipment ``s``'s window (NULL: open), as SQL over ``shipments s``."""


def shipment_alerts_page(
    conn: psycopg.Connection[Any],
    shipment_id: str,
    after: tuple[datetime, str, str] | None,
    limit: int,
) -> list[Record] | None:
    """The alert changes of the shipment's truck within its window, newest first (the order of
    ``GET /v1/alerts``), after the keyset ``(changed_at, alert_id, state)`` when given; one row
    more than ``limit`` when another page follows. None when the shipment is not visible."""
    seen = conn.execute("SELECT 1 FROM shipments WHERE shipment_id = %s", [shipment_id]).fetchone()
    if seen is None:
        return None
    columns = ", ".join(f"a.{c.strip()}" for c in HISTORY_COLUMNS.split(","))
    keyset = "AND (a.changed_at, a.alert_id, a.state) < (%s, %s, %s)" if after else ""
    cur = conn.execute(
        (
            f"SELECT {columns} FROM shipments s JOIN alert_changes a ON a.truck_id = s.truck_id "
            "AND a.changed_at >= s.created_at "
            f"AND (a.changed_at <= ({WINDOW_END}) OR s.status = 'active') "
            f"WHERE s.shipment_id = %s {keyset} "
            "ORDER BY a.changed_at DESC, a.alert_id DESC, a.state DESC LIMIT %s"
        ).encode(),
        [shipment_id, *(after or ()), limit + 1],
    )
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
