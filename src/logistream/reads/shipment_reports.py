"""The latest issued shipment report, as stored (``shipment_report_versions``, migration 0052).

Issuing a shipment report (``logistream report shipment ID``) is the batch layer's; other layers
read what it stored, as the read-only role. The content is everything the report showed, so the
JSON handed out is the issued version itself; it does not say whether the archive changed since
(only issuing a new version can tell).
"""

from __future__ import annotations

import json
from typing import Any

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


def report_json(content: dict[str, Any]) -> bytes:
    """The same bytes as ``logistream report shipment ID --format json`` (its ``to_json``)."""
    return (json.dumps(content, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
