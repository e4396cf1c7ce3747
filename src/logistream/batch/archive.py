"""The archive's PostgreSQL edge: one batch = one transaction of rows, rejections and offsets.

Rows go in with binary ``COPY`` into session-temporary staging tables, then one ``INSERT ...
SELECT`` per table. One event id is one row: the archive's key is ``(event_id, event_time)``
(the partitioning needs the time in it), so each reading's id is first registered in
``reading_ids`` (unpartitioned, keyed by the id alone) and only the readings registered now are
archived. Within a batch the first copy of an id by (partition, offset) is the one kept. A copy
whose id is already registered with the same timestamp (a retry, a replay, the same message at
two offsets) is a silent no-op; one with another timestamp is refused as
``conflicting_duplicate`` and goes to the DLQ. The next offsets to read are upserted in the SAME
transaction: after a crash the archive and its resume point agree, which is what makes "every
reading exactly once" hold. Day partitions are ensured beforehand in their own short
transaction (see :meth:`Archive.ensure_partitions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from logistream.batch.records import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    READING_COLUMNS,
    READING_TYPES,
    REJECTED_COLUMNS,
    REJECTED_TYPES,
    Rejection,
    SortedBatch,
    conflicting_duplicate,
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

# The registry insert waits for a concurrent bridge's uncommitted insert of the same id, so
# the id goes to exactly one of them; the readings' own ON CONFLICT covers rows written
# without the registry (by hand, as the owner).
_INSERT_READINGS: Final = """
WITH firsts AS (
    SELECT DISTINCT ON (event_id) *
    FROM stage_readings
    ORDER BY event_id, source_partition, source_offset  -- the first copy in the batch wins
), registered AS (
    INSERT INTO reading_ids (event_id, event_time)
    SELECT event_id, to_timestamp(ts) FROM firsts
    ORDER BY event_id  -- one lock order for concurrent bridges: no deadlock on shared ids
    ON CONFLICT DO NOTHING
    RETURNING event_id
)
INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, seq, trip_id, driver_id,
    cargo, lat, lon, speed_kmh, heading_deg, humidity, door_open, reefer_on, defrost, probe_id,
    extras, source_partition, source_offset, produced_at)
SELECT f.event_id, to_timestamp(f.ts), f.truck_id, f.temp, f.fuel, f.seq, f.trip_id,
    f.driver_id, f.cargo, f.lat, f.lon, f.speed_kmh, f.heading_deg, f.humidity, f.door_open,
    f.reefer_on, f.defrost, f.probe_id, f.extras::jsonb, f.source_partition, f.source_offset,
    to_timestamp(f.produced_ms / 1000.0)
FROM firsts f JOIN registered r ON r.event_id = f.event_id
ORDER BY f.event_id
ON CONFLICT DO NOTHING
"""

# Run only when fewer rows went in than were staged. Rows registered by this transaction are
# visible here, so a later copy in the same batch is checked against the first one.
_CONFLICTS: Final = """
SELECT s.source_partition, s.source_offset, s.event_id, s.ts, r.event_time
FROM stage_readings s JOIN reading_ids r ON r.event_id = s.event_id
WHERE r.event_time <> to_timestamp(s.ts)
ORDER BY s.source_partition, s.source_offset
"""

_INSERT_ALERTS: Final = """
INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, cargo, rule,
    severity, opened_at, value, threshold, lat, lon, message, acknowledged_by, ack_note,
    resolved_at, payload, source_partition, source_offset, probe_id)
SELECT alert_id, state, to_timestamp(changed_at), truck_id, trip_id, cargo, rule,
    severity, to_timestamp(opened_at), value, threshold, lat, lon, message, acknowledged_by,
    ack_note, to_timestamp(resolved_at), payload::jsonb, source_partition, source_offset,
    probe_id
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
    conflicts: tuple[Rejection, ...] = ()
    """Readings refused by the archive (``conflicting_duplicate``): counted as rejected, not
    accepted, and already handed to the DLQ."""


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

    def write(
        self,
        batch: SortedBatch,
        *,
        lag_messages: int | None,
        now_s: float,
        dead_letters: Callable[[Sequence[Rejection]], None] | None = None,
    ) -> WriteResult:
        """Store one batch and its offsets (and a heartbeat) in one transaction.

        ``dead_letters`` publishes the readings the archive refuses (conflicting duplicates)
        and returns once the broker has them; it runs inside the transaction, before the
        commit, so a crash can repeat a DLQ record but never lose one (as in :mod:`dlq`).
        Without it they are only recorded in ``rejected_readings``.
        """
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                inserted = self._stage_and_insert(
                    cur, "stage_readings", READING_COLUMNS, READING_TYPES, batch.readings,
                    _INSERT_READINGS,
                )  # fmt: skip
                conflicts: list[Rejection] = []
                if inserted < len(batch.readings):
                    conflicts = self._conflicts(cur, batch)
                    if conflicts and dead_letters is not None:
                        dead_letters(conflicts)
                alerts = self._stage_and_insert(
                    cur, "stage_alerts", ALERT_COLUMNS, ALERT_TYPES, batch.alerts,
                    _INSERT_ALERTS,
                )  # fmt: skip
                rejected = self._stage_and_insert(
                    cur, "stage_rejected", REJECTED_COLUMNS, REJECTED_TYPES,
                    [r.row() for r in (*batch.rejected, *conflicts)], _INSERT_REJECTED,
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
                        "rejected": len(batch.rejected) + len(conflicts),
                        "lag_messages": lag_messages,
                        "oldest_s": oldest / 1000.0 if oldest is not None else now_s,
                    },
                )
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        return WriteResult(inserted, alerts, rejected, tuple(conflicts))

    @staticmethod
    def _conflicts(cur: psycopg.Cursor[tuple[Any, ...]], batch: SortedBatch) -> list[Rejection]:
        """The staged readings whose id is registered with another timestamp."""
        rows = cur.execute(_CONFLICTS).fetchall()
        if not rows:
            return []
        by_position = {(m.partition, m.offset): m for m in batch.reading_messages}
        return [
            conflicting_duplicate(
                by_position[(partition, offset)], event_id, archived.timestamp(), ts
            )
            for partition, offset, event_id, ts, archived in rows
        ]

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
