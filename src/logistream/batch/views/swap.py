"""Replacing the views of the trips in scope, in one transaction, from a finished pass.

The old rows of the trips in scope are deleted and the new ones inserted from the pass (a
temporary table in a serial run, the unlogged staging table a parallel run filled), then the
reconciliation is rebuilt and the run recorded in ``batch_runs``. Done inside one transaction:
running twice changes nothing, and a reader never sees half a run. Runs are serialised by an
advisory lock, since two at once would each delete and insert the same trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.batch.views.pass_sql import PER_TRIP_TABLE, pass_select
from logistream.batch.views.progress import RunClock
from logistream.batch.views.scope import SCOPE_TABLE, Scope
from logistream.batch.views.view_sql import VIEW_TABLES, reconcile_sql, write_sql
from logistream.coldchain.params import BatchParams

if TYPE_CHECKING:
    import psycopg

STAGE_TRIPS = "batch_stage_trips"
"""A parallel run's pass, unlogged and committed, so that the workers' sessions can fill it."""
STAGE_SCOPE = "batch_stage_scope"
"""A parallel run's scope, unlogged and committed, so that the workers' sessions can read it."""

_RUN_KEY = "hashtext('logistream.batch')"
XACT_LOCK = f"SELECT pg_advisory_xact_lock({_RUN_KEY})"
"""The serial run's lock, held until its transaction ends."""
# A session lock: it must outlive the staging transactions. The serial path's transaction
# lock on the same key excludes it, and the other way round.
SESSION_LOCK = f"SELECT pg_advisory_lock({_RUN_KEY})"
SESSION_UNLOCK = f"SELECT pg_advisory_unlock({_RUN_KEY})"


@dataclass(frozen=True, slots=True)
class RunResult:
    trips: int
    seconds: float


def replace_views(
    conn: psycopg.Connection[Any],
    scope: Scope,
    params: BatchParams,
    clock: RunClock,
    *,
    per_trip: str = PER_TRIP_TABLE,
    scope_table: str = SCOPE_TABLE,
    record: bool = True,
    archived_before: datetime | None = None,
) -> RunResult:
    """Inside the caller's transaction: replace the views of the trips in scope from the pass
    (``record``: and record the run in ``batch_runs``, with the watermark ``archived_before``
    of a run that covers every change; a report's private run is not a run)."""
    if scope.everything:
        for table in VIEW_TABLES:
            conn.execute(f"DELETE FROM {table}")
    else:
        for table in VIEW_TABLES:
            conn.execute(
                f"DELETE FROM {table} v USING {scope_table} s "
                "WHERE v.truck_id = s.truck_id AND v.trip_id = s.trip_id"
            )
    clock.step("old rows of the trips in scope deleted")
    for view, statement in write_sql(params, per_trip):
        done = conn.execute(statement.encode())
        clock.step(f"{view}: {done.rowcount:,} rows")
    conn.execute("DELETE FROM reconciliation")
    done = conn.execute(reconcile_sql(params).encode())
    clock.step(f"reconciliation: {done.rowcount:,} rows")
    row = conn.execute(f"SELECT count(*) FROM {per_trip}").fetchone()
    trips = int(row[0]) if row else 0
    seconds = clock.seconds()
    if not record:
        return RunResult(trips=trips, seconds=seconds)
    conn.execute(
        "INSERT INTO batch_runs (started_at, finished_at, range_from, range_to, trips, "
        "seconds, archived_before) VALUES (%s, now(), %s, %s, %s, %s, %s)",
        [clock.started_at, scope.start, scope.end, trips, seconds, archived_before],
    )
    return RunResult(trips=trips, seconds=seconds)


def create_stage(conn: psycopg.Connection[Any], params: BatchParams, where: str) -> None:
    """An empty staging table shaped like the pass (inside the caller's transaction)."""
    conn.execute(f"DROP TABLE IF EXISTS {STAGE_TRIPS}")
    conn.execute(
        f"CREATE UNLOGGED TABLE {STAGE_TRIPS} AS {pass_select(params, where)} WITH NO DATA".encode()
    )


def swap_from_stage(
    conn: psycopg.Connection[Any],
    scope: Scope,
    params: BatchParams,
    clock: RunClock,
    *,
    archived_before: datetime | None = None,
) -> RunResult:
    """One transaction that replaces the views from the filled staging table."""
    with conn.transaction():
        conn.execute(f"ANALYZE {STAGE_TRIPS}")
        return replace_views(
            conn,
            scope,
            params,
            clock,
            per_trip=STAGE_TRIPS,
            scope_table=STAGE_SCOPE,
            archived_before=archived_before,
        )


def clear_stage(conn: psycopg.Connection[Any]) -> None:
    """Empty the staging tables (kept, unlogged, for the next parallel run)."""
    with conn.transaction():
        conn.execute(f"TRUNCATE {STAGE_TRIPS}, {STAGE_SCOPE}")
