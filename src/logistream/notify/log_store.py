"""The notification log and the notifier's state in PostgreSQL (migration 0040): the I/O edge.

Tables: ``notifications`` (one row per send: pending -> sent | failed | superseded),
``notify_alerts`` (each alert's state and escalation progress), ``notify_watchdog`` (the last
stall/recovery reported per component). Times cross this module as epoch seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from logistream.events import Alert, encode
from logistream.notify.escalation import Track
from logistream.notify.messages import Notification
from logistream.notify.watchdog import Known

if TYPE_CHECKING:
    import psycopg


_INSERT: Final = """
INSERT INTO notifications (
    idempotency_key, kind, alert_id, alert_state, level, truck_id, trip_id, rule, severity,
    alert_opened_at, recipient, recipient_name, channel, address, subject, body, payload,
    held, not_before)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s,
        %s, coalesce(to_timestamp(%s), now()))
ON CONFLICT (idempotency_key) DO NOTHING
"""


def insert_notifications(conn: psycopg.Connection[Any], items: Iterable[Notification]) -> int:
    """Log planned sends as pending; one already logged (a replay) is left as it is."""
    rows = [
        (
            n.key, n.kind, n.alert_id, n.state, n.level, n.truck_id, n.trip_id, n.rule,
            n.severity, n.alert_opened_at, n.recipient, n.recipient_name, n.channel, n.address,
            n.subject, n.body, json.dumps(n.payload), n.not_before is not None, n.not_before,
        )
        for n in items
    ]  # fmt: skip
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(_INSERT, rows)
        return max(cur.rowcount, 0)


# ---- alerts and escalation -----------------------------------------------------------------


def _track(row: tuple[Any, ...]) -> Track:
    return Track(
        alert_id=row[0],
        state=row[1],
        severity=row[2],
        first_seen_at=float(row[3]),
        levels_done=int(row[4]),
        next_level_at=float(row[5]) if row[5] is not None else None,
    )


_TRACK_COLUMNS: Final = (
    "alert_id, state, severity, extract(epoch FROM first_seen_at), levels_done, "
    "extract(epoch FROM next_level_at)"
)


def lock_track(conn: psycopg.Connection[Any], alert_id: str) -> Track | None:
    row = conn.execute(
        f"SELECT {_TRACK_COLUMNS} FROM notify_alerts WHERE alert_id = %s FOR UPDATE", [alert_id]
    ).fetchone()
    return _track(row) if row else None


def save_track(conn: psycopg.Connection[Any], track: Track, alert: Alert | None) -> None:
    """Upsert the track; ``alert`` (the latest change) replaces the stored one when given."""
    acked_by = alert.acknowledged_by if alert is not None else None
    acked_at = alert.changed_at if alert is not None and alert.state == "acknowledged" else None
    conn.execute(
        "INSERT INTO notify_alerts (alert_id, truck_id, state, severity, alert, first_seen_at, "
        "levels_done, next_level_at, acknowledged_by, acknowledged_at) "
        "VALUES (%s, %s, %s, %s, %s, to_timestamp(%s), %s, to_timestamp(%s), %s, "
        "to_timestamp(%s)) "
        "ON CONFLICT (alert_id) DO UPDATE SET state = excluded.state, "
        "severity = excluded.severity, "
        "alert = CASE WHEN %s THEN excluded.alert ELSE notify_alerts.alert END, "
        "levels_done = excluded.levels_done, next_level_at = excluded.next_level_at, "
        "acknowledged_by = coalesce(notify_alerts.acknowledged_by, excluded.acknowledged_by), "
        "acknowledged_at = coalesce(notify_alerts.acknowledged_at, excluded.acknowledged_at), "
        "updated_at = now()",
        [
            track.alert_id,
            alert.truck_id if alert is not None else "",
            track.state,
            track.severity,
            encode(alert).decode() if alert is not None else "{}",
            track.first_seen_at,
            track.levels_done,
            track.next_level_at,
            acked_by,
            acked_at,
            alert is not None,
        ],
    )


def lock_due_tracks(
    conn: psycopg.Connection[Any], now: float, limit: int = 100
) -> list[tuple[Track, Alert]]:
    """Open alerts whose next level is due, locked (another notifier skips them)."""
    from logistream.events import decode_alert

    rows = conn.execute(
        f"SELECT {_TRACK_COLUMNS}, alert::text FROM notify_alerts "
        "WHERE state = 'open' AND next_level_at <= to_timestamp(%s) "
        "ORDER BY next_level_at LIMIT %s FOR UPDATE SKIP LOCKED",
        [now, limit],
    ).fetchall()
    return [(_track(r), decode_alert(r[6].encode())) for r in rows]


# ---- watchdog ------------------------------------------------------------------------------


def load_watchdog(conn: psycopg.Connection[Any]) -> dict[str, Known]:
    rows = conn.execute(
        "SELECT component, stalled, extract(epoch FROM since) FROM notify_watchdog"
    ).fetchall()
    return {r[0]: Known(stalled=bool(r[1]), since=float(r[2])) for r in rows}


def save_watchdog(conn: psycopg.Connection[Any], component: str, known: Known, detail: str) -> None:
    conn.execute(
        "INSERT INTO notify_watchdog (component, stalled, since, detail) "
        "VALUES (%s, %s, to_timestamp(%s), %s) ON CONFLICT (component) DO UPDATE SET "
        "stalled = excluded.stalled, since = excluded.since, detail = excluded.detail, "
        "updated_at = now()",
        [component, known.stalled, known.since, detail],
    )


# ---- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """A pending send, claimed (row-locked) by one channel worker."""

    notification_id: int
    key: str
    kind: str
    alert_id: str
    state: str
    channel: str
    address: str
    subject: str
    body: str
    payload: dict[str, Any]
    attempts: int
    held: bool
    current_state: str | None
    """The alert's state now (None: not an alert, or unknown)."""


def claim_next(conn: psycopg.Connection[Any], channel: str) -> Pending | None:
    """Lock the next due send of ``channel`` (call inside a transaction; the lock is held while
    sending, so a crash leaves the row pending and it is sent again after the restart)."""
    row = conn.execute(
        "SELECT n.notification_id, n.idempotency_key, n.kind, n.alert_id, n.alert_state, "
        "n.channel, n.address, n.subject, n.body, n.payload, n.attempts, n.held, a.state "
        "FROM notifications n LEFT JOIN notify_alerts a ON a.alert_id = n.alert_id "
        "WHERE n.channel = %s AND n.status = 'pending' AND n.not_before <= now() "
        "ORDER BY n.not_before, n.notification_id LIMIT 1 FOR UPDATE OF n SKIP LOCKED",
        [channel],
    ).fetchone()
    if row is None:
        return None
    return Pending(
        notification_id=int(row[0]), key=row[1], kind=row[2], alert_id=row[3], state=row[4],
        channel=row[5], address=row[6], subject=row[7], body=row[8], payload=row[9],
        attempts=int(row[10]), held=bool(row[11]), current_state=row[12],
    )  # fmt: skip


def mark_sent(conn: psycopg.Connection[Any], item: Pending, provider_ref: str | None) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'sent', sent_at = now(), attempts = attempts + 1, "
        "provider_ref = %s, last_error = NULL WHERE notification_id = %s",
        [provider_ref, item.notification_id],
    )


def mark_retry(conn: psycopg.Connection[Any], item: Pending, error: str, delay_s: float) -> None:
    conn.execute(
        "UPDATE notifications SET attempts = attempts + 1, last_error = %s, "
        "not_before = now() + make_interval(secs => %s) WHERE notification_id = %s",
        [error[:1000], delay_s, item.notification_id],
    )


def mark_failed(conn: psycopg.Connection[Any], item: Pending, error: str) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'failed', failed_at = now(), "
        "attempts = attempts + 1, last_error = %s WHERE notification_id = %s",
        [error[:1000], item.notification_id],
    )


def mark_superseded(conn: psycopg.Connection[Any], item: Pending, why: str) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'superseded', last_error = %s "
        "WHERE notification_id = %s",
        [why, item.notification_id],
    )
