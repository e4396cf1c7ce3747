"""The latest issued shipment report, as stored (``shipment_report_versions``, migration 0052):
what the dashboard shows beside each lot (its verdict) without issuing a new version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


def latest_shipment_report(
    conn: psycopg.Connection[Any], shipment_id: str
) -> dict[str, Any] | None:
    """The newest issued version's content, or None when none was issued."""
    row = conn.execute(
        "SELECT content FROM shipment_report_versions WHERE shipment_id = %s "
        "ORDER BY version DESC LIMIT 1",
        [shipment_id],
    ).fetchone()
    return None if row is None else dict(row[0])
