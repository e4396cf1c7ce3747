"""The archive's PostgreSQL edge: one batch = one transaction of rows, rejections and offsets.

Rows go in with binary ``COPY`` into session-temporary staging tables, then ``INSERT ... SELECT
... ON CONFLICT DO NOTHING`` into the archive, so a reading seen twice (a retry, a replay, the
same message at two offsets) is stored once. The next offsets to read are upserted in the SAME
transaction: after a crash the archive and its resume point agree, which is what makes "every
reading exactly once" hold. Day partitions are ensured beforehand in their own short
transaction (see :meth:`Archive.ensure_partitions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from logistream.batch.records import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    READING_COLUMNS,
    READING_TYPES,
    REJECTED_COLUMNS,
    REJECTED_TYPES,
    SortedBatch,
)

if TYPE_CHECKING:
    import psycopg

_EPOCH: Final = dt.date(1970, 1, 1)
# Partitions kept ready ahead of the wall clock (the migration creates the first ones too).
DAYS_AHEAD: Final = 3

_STAGING: Final = (
    ("stage_readings", READING_COLUMNS, READING_TYPES),
    ("stage_alerts", ALERT_COLUMNS, ALERT_TYPES),
    ("stage_rejected", REJECTED_COLUMNS, REJECTED_TYPES),
)

_INSERT_READINGS: Final = """
INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, seq, trip_id, driver_id,
    cargo, lat, lon, speed_kmh, heading_deg, humidity, door_open, reefer_on, defrost, extras,
    source_partition, source_offset, produced_at)
SELECT event_id, to_timestamp(ts), truck_id, temp, fuel, seq, trip_id, driver_id,
    cargo, lat, lon, speed_kmh, heading_deg, humidity, door_open, reefer_on, defrost,
    extras::jsonb, source_partition, source_offset, to_timestamp(produced_ms / 1000.0)
FROM stage_readings
ORDER BY event_id  -- one lock order for concurrent bridges: no deadlock on shared ids
ON CONFLICT DO NOTHING
"""

_INSERT_ALERTS: Final = """
INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, cargo, rule,
    severity, opened_at, value, threshold, lat, lon, message, acknowledged_by, ack_note,
    resolved_at, payload, source_partition, source_offset)
SELECT alert_id, state, to_timestamp(changed_at), truck_id, trip_id, cargo, rule,
    severity, to_timestamp(opened_at), value, threshold, lat, lon, message, acknowledged_by,
    ack_note, to_timestamp(resolved_at), payload::jsonb, source_partition, source_offset
FROM stage_alerts
ORDER BY alert_id, state, changed_at
ON CONFLICT DO NOTHING
"""

_INSERT_REJECTED: Final = """
INSERT INTO rejected_readings (source_topic, source_partition, source_offset, reason, detail,
    message_key, raw, produced_at)
SELECT source_topic, source_partition, source_offset, reason, detail,
    message_key, raw, to_timestamp(produced_ms / 1000.0)
FROM stage_rejected
ORDER BY source_topic, source_partition, source_offset
ON CONFLICT DO NOTHING
"""

# GREATEST: a bridge that lost a partition in a rebalance and commits late never moves the
# resume point backwards (every writer's batches are contiguous from a stored offset, so any
# stored value has everything below it archived).
_UPSERT_OFFSETS: Final = """
INSERT INTO kafka_offsets AS o (consumer_group, topic, partition, next_offset)
SELECT %s, t, p, n FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS u(t, p, n)
ORDER BY t, p
ON CONFLICT (consumer_group, topic, partition) DO UPDATE
SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset), updated_at = now()
"""

_UPSERT_HEARTBEAT: Final = """
INSERT INTO bridge_heartbeat AS h (consumer_group, instance, started_at, last_commit_at,
    last_batch_messages, last_batch_rejected, total_messages, total_rejected, lag_messages,
    lag_seconds)
VALUES (%(group)s, %(instance)s, %(started_at)s, now(), %(messages)s, %(rejected)s,
    %(messages)s, %(rejected)s, %(lag_messages)s,
    extract(epoch FROM now()) - %(oldest_s)s::float8)
ON CONFLICT (consumer_group, instance) DO UPDATE SET
    last_commit_at = now(),
    last_batch_messages = EXCLUDED.last_batch_messages,
    last_batch_rejected = EXCLUDED.last_batch_rejected,
    total_messages = h.total_messages + EXCLUDED.total_messages,
    total_rejected = h.total_rejected + EXCLUDED.total_rejected,
    lag_messages = EXCLUDED.lag_messages,
    lag_seconds = EXCLUDED.lag_seconds
"""


def day_of(day_number: int) -> dt.date:
    """The date of a day number (days since 1970-01-01, UTC)."""
    return _EPOCH + dt.timedelta(days=day_number)


def day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


@dataclass(frozen=True, slots=True)
class WriteResult:
    inserted: int
    """New archive rows (accepted readings minus those already stored)."""
    alerts_inserted: int
    rejected_inserted: int


class Archive:
    """One bridge's connection to the archive, as the insert-only bridge role."""

    def __init__(self, conninfo: str, group: str, instance: str) -> None:
        self._conninfo = conninfo
        self._group = group
        self._instance = instance
        self._started_at = dt.datetime.now(dt.UTC)
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._known_days: set[int] = set()

    # -- connection -------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = psycopg.connect(
            self._conninfo,
            connect_timeout=5,
            application_name=f"logistream-bridge {self._instance}",
            # A dead server or network is noticed in seconds, not hours.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        try:
            for table, columns, types in _STAGING:
                cols = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
                conn.execute(f"CREATE TEMP TABLE {table} ({cols}) ON COMMIT DELETE ROWS")
            conn.commit()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def reset(self) -> None:
        """Drop the connection after an error; the next call reconnects."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        self.reset()

    # -- reads ------------------------------------------------------------------------------

    def stored_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """The next offset to read per (topic, partition) for this group, as stored."""
        conn = self._connection()
        try:
            rows = conn.execute(
                "SELECT topic, partition, next_offset FROM kafka_offsets "
                "WHERE consumer_group = %s AND topic = ANY(%s)",
                [self._group, list(topics)],
            ).fetchall()
        finally:
            conn.rollback()
        return {(str(t), int(p)): int(n) for t, p, n in rows}

    # -- writes -----------------------------------------------------------------------------

    def ensure_partitions(self, days: Iterable[int], *, today: int | None = None) -> None:
        """Make sure a partition exists for each day (plus the days just ahead of ``today``).

        Runs in its own short transaction, before the batch's: creating a partition locks the
        parent table, and holding that lock inside a batch could deadlock two bridges.
        """
        wanted = set(days)
        if today is not None:
            wanted.update(range(today - 1, today + DAYS_AHEAD + 1))
        missing = sorted(wanted - self._known_days)
        if not missing:
            return
        conn = self._connection()
        try:
            for day in missing:
                conn.execute("SELECT ensure_reading_partition(%s)", [day_of(day)])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self._known_days.update(missing)

    def write(self, batch: SortedBatch, *, lag_messages: int | None, now_s: float) -> WriteResult:
        """Store one batch and its offsets (and a heartbeat) in one transaction."""
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                inserted = self._stage_and_insert(
                    cur, "stage_readings", READING_COLUMNS, READING_TYPES, batch.readings,
                    _INSERT_READINGS,
                )  # fmt: skip
                alerts = self._stage_and_insert(
                    cur, "stage_alerts", ALERT_COLUMNS, ALERT_TYPES, batch.alerts,
                    _INSERT_ALERTS,
                )  # fmt: skip
                rejected = self._stage_and_insert(
                    cur, "stage_rejected", REJECTED_COLUMNS, REJECTED_TYPES,
                    [r.row() for r in batch.rejected], _INSERT_REJECTED,
                )  # fmt: skip
                if batch.next_offsets:
                    keys = sorted(batch.next_offsets)
                    cur.execute(
                        _UPSERT_OFFSETS,
                        [
                            self._group,
                            [t for t, _ in keys],
                            [p for _, p in keys],
                            [batch.next_offsets[k] for k in keys],
                        ],
                    )
                oldest = batch.oldest_produced_ms
                cur.execute(
                    _UPSERT_HEARTBEAT,
                    {
                        "group": self._group,
                        "instance": self._instance,
                        "started_at": self._started_at,
                        "messages": batch.consumed,
                        "rejected": len(batch.rejected),
                        "lag_messages": lag_messages,
                        "oldest_s": oldest / 1000.0 if oldest is not None else now_s,
                    },
                )
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        return WriteResult(inserted, alerts, rejected)

    @staticmethod
    def _stage_and_insert(
        cur: psycopg.Cursor[tuple[Any, ...]],
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        insert: str,
    ) -> int:
        if not rows:
            return 0
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)
        cur.execute(insert)
        return max(cur.rowcount, 0)
