"""Which trips a batch run recomputes: all, those with a reading in a time range, those that
changed since the last run, or one trip.

A trip in scope is recomputed whole, from all its readings, even when only some of them fall
in the range. The trips are written to a table (``batch_scope``, temporary; or an unlogged one
that the parallel workers' sessions can read too), and ``scope_sql`` filters ``readings r`` by it.

"Changed" means a reading archived at or after the watermark the last run that
covered every change recorded (``batch_runs.archived_before``): a trip's key is a function of
each reading alone (``TRIP_EXPR``), so the other trips' views are still exact. With no such run
yet, it is everything.

The watermark a run records (:data:`WATERMARK_SQL`) is the start of its scope's transaction less
:data:`ARCHIVE_MARGIN`: a reading the scope did not see was committed later, by a bridge
transaction that began (and stamped ``archived_at``) less than that margin before, so the next
run sees it. A bridge transaction takes well under a second; one open for longer than the
margin could have a reading missed until the next full run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg


SCOPE_TABLE = "batch_scope"
"""The serial run's scope: a temporary table, dropped at the end of the run's transaction."""
_COLUMNS = "truck_id text, trip_id text, first_time timestamptz"
"""A trip in scope; ``first_time``: its first reading (set in a run of changed trips)."""
ARCHIVE_MARGIN = timedelta(minutes=10)
"""How long a bridge transaction may stay open and its readings still be seen as changed."""
WATERMARK_SQL = f"SELECT now() - interval '{int(ARCHIVE_MARGIN.total_seconds())} seconds'"
"""The watermark a run that covers every change records (in its scope's transaction)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which trips to recompute: everything (the default), a time range, the changed trips, or
    one trip."""

    start: datetime | None = None
    end: datetime | None = None
    truck_id: str | None = None
    trip_id: str | None = None
    changed: bool = False
    """The trips with a reading archived since the last run that covered every change."""
    archived_since: datetime | None = None
    """That run's watermark (set by :func:`resolve`)."""

    @property
    def everything(self) -> bool:
        return self.start is None and self.end is None and self.trip_id is None and not self.changed

    @property
    def covers_changes(self) -> bool:
        """Whether the views reflect every archived reading after this run (so it records a
        watermark): a full run or a run over the changed trips."""
        return self.everything or self.changed


def resolve(conn: psycopg.Connection[Any], scope: Scope) -> Scope:
    """``scope`` with the watermark of the changed trips read (everything if there is none)."""
    if not scope.changed:
        return scope
    row = conn.execute("SELECT max(archived_before) FROM batch_runs").fetchone()
    since = row[0] if row else None
    return Scope() if since is None else replace(scope, archived_since=since)


def scope_sql(scope: Scope, table: str = SCOPE_TABLE) -> str:
    """A filter on ``readings r`` (after the scope table exists)."""
    if scope.everything:
        return "TRUE"
    where = (
        f"r.truck_id IN (SELECT truck_id FROM {table}) "
        f"AND (r.truck_id, {TRIP_EXPR}) IN (SELECT truck_id, trip_id FROM {table})"
    )
    if scope.changed:
        # The changed trips are mostly recent ones: read only the days they span.
        where += (
            f" AND r.event_time >= coalesce((SELECT min(first_time) FROM {table}), '-infinity')"
        )
    return where


def make_scope(conn: psycopg.Connection[Any], scope: Scope, table: str = SCOPE_TABLE) -> None:
    """The trips in scope; a temporary table, or (any other name) an unlogged one that the
    parallel workers' sessions can read too."""
    if table == SCOPE_TABLE:
        conn.execute(f"CREATE TEMP TABLE {SCOPE_TABLE} ({_COLUMNS}) ON COMMIT DROP")
    else:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE UNLOGGED TABLE {table} ({_COLUMNS})")
    if scope.everything:
        return
    if scope.trip_id is not None:
        where, params = "r.truck_id = %s", [scope.truck_id]
        if scope.truck_id is None:
            where, params = "r.trip_id = %s", [scope.trip_id]
        conn.execute(
            f"INSERT INTO {table} SELECT DISTINCT r.truck_id, {TRIP_EXPR} FROM readings r "
            f"WHERE {where} AND {TRIP_EXPR} = %s",
            [*params, scope.trip_id],
        )
    elif scope.changed:
        if scope.archived_since is None:
            raise ValueError("a scope of changed trips is resolve()d first")
        # A trip's first reading: its new readings' first, or the one the views hold (they
        # reflect every reading archived before the watermark; no row: it had none).
        conn.execute(
            f"INSERT INTO {table} (truck_id, trip_id, first_time) "
            "SELECT n.truck_id, n.trip_id, least(n.first_time, t.start_time) "
            f"FROM (SELECT r.truck_id, {TRIP_EXPR} AS trip_id, min(r.event_time) AS first_time "
            "FROM readings r WHERE r.archived_at >= %s GROUP BY 1, 2) n "
            "LEFT JOIN trips t ON t.truck_id = n.truck_id AND t.trip_id = n.trip_id",
            [scope.archived_since],
        )
    else:
        conn.execute(
            f"INSERT INTO {table} SELECT DISTINCT r.truck_id, {TRIP_EXPR} FROM readings r "
            "WHERE (%s::timestamptz IS NULL OR r.event_time >= %s) "
            "AND (%s::timestamptz IS NULL OR r.event_time < %s)",
            [scope.start, scope.start, scope.end, scope.end],
        )
    conn.execute(f"ANALYZE {table}")
