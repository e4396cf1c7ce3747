"""The ``notifications`` section of the trip report: who was told what, when, by which channel,
and who acknowledged (read-only; works with the reader role)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.reads.views import OPEN_DURING

if TYPE_CHECKING:
    import psycopg

# A send about an alert carried over from the previous trip (opened before ``start``, still
# open at it) belongs to this trip's record too, as the alert does.
_QUERY = f"""
SELECT n.alert_id, n.rule, n.severity, n.alert_opened_at, n.kind, n.level,
       n.alert_state AS change, n.recipient_name AS recipient, n.channel, n.status,
       n.subject, n.created_at, n.sent_at, n.attempts, n.last_error,
       a.acknowledged_by, a.acknowledged_at
FROM notifications n
LEFT JOIN notify_alerts a ON a.alert_id = n.alert_id
WHERE n.truck_id = %(truck_id)s
  AND (n.alert_opened_at BETWEEN %(start)s AND %(end)s OR n.alert_id IN ({OPEN_DURING}))
ORDER BY n.alert_opened_at, n.alert_id, n.created_at, n.level, n.recipient_name, n.channel
"""


def trip_notifications(
    conn: psycopg.Connection[Any], truck_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One dict per send for the truck's alerts open (event time) at any time in [start, end]:
    ``alert_id, rule, severity, alert_opened_at, kind`` (alert/escalation), ``level``,
    ``change`` (open/acknowledged/resolved), ``recipient, channel, status`` (sent, pending,
    failed, superseded), ``subject, created_at, sent_at, attempts, last_error``,
    ``acknowledged_by, acknowledged_at``. Times are timezone-aware datetimes."""
    with conn.cursor() as cur:
        cur.execute(_QUERY.encode(), {"truck_id": truck_id, "start": start, "end": end})
        names = [d.name for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
