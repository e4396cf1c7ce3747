"""``logistream batch``: recompute the batch views from the raw archive, set-based, idempotently.

The run, step by step: copy the registry (:mod:`registry_copy`), choose the trips in scope
(:mod:`scope`), make one pass over their readings (:mod:`pass_sql`), and replace their views
from it in one transaction (:mod:`swap`, with the statements of :mod:`view_sql`): running twice
changes nothing, and a reader never sees half a run. Each step is reported (:mod:`progress`).

Speed (``workers`` > 1, what ``logistream batch`` does): the pass is nearly all of the time and
runs on one core per connection, so it is cut into slices of whole trucks (:mod:`slicing`) run
on several connections into unlogged staging tables; the last step replaces the views from them
in one transaction as before. JIT is off: it spends seconds compiling this many expressions.

Scope: all trips, the trips with a reading in ``[from, to)`` (each recomputed whole, from all
its readings), the trips with readings archived since the last run that covered every change
(what the demo runs each minute; :mod:`scope` says why that is exact), or one trip.

A report never waits on a run (:func:`recompute_trip_privately`): it computes its one trip into
temporary copies of the view tables that hide the shared ones for the rest of its transaction,
so it takes no lock a run holds and writes no row a run writes. Everyone else reads the views a
run last committed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logistream.batch.views.pass_sql import PER_TRIP_TABLE, pass_sql, tune_for_pass
from logistream.batch.views.progress import Progress, RunClock
from logistream.batch.views.registry_copy import sync_registry
from logistream.batch.views.scope import (
    SCOPE_TABLE,
    WATERMARK_SQL,
    Scope,
    make_scope,
    resolve,
    scope_sql,
)
from logistream.batch.views.slicing import (
    estimated_readings,
    run_slices,
    slice_count,
    worker_conninfo,
)
from logistream.batch.views.swap import (
    SESSION_LOCK,
    SESSION_UNLOCK,
    STAGE_SCOPE,
    STAGE_TRIPS,
    XACT_LOCK,
    RunResult,
    clear_stage,
    create_stage,
    replace_views,
    swap_from_stage,
)
from logistream.batch.views.view_sql import VIEW_TABLES
from logistream.coldchain.params import BatchParams, params_from_rules
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

# The names callers and tests import from here, wherever they are defined.
__all__ = [
    "VIEW_TABLES",
    "Progress",
    "RunResult",
    "Scope",
    "configured_params",
    "recompute",
    "recompute_trip_privately",
]

PRIVATE_TABLES = (
    *VIEW_TABLES,
    "reconciliation",
    "batch_cargo_profiles",
    "batch_trucks",
    "batch_routes",
)
"""What a run writes, copied per report: the views and the registry copy the pass joins."""


@lru_cache(maxsize=4)
def configured_params(rules_file: Path | None) -> BatchParams:
    """The batch thresholds of a rules file (``None``: the shipped rules.toml)."""
    from logistream.registry.rules import load_rules_config

    return params_from_rules(load_rules_config(rules_file))


def recompute(
    conn: psycopg.Connection[Any],
    registry: Registry,
    scope: Scope | None = None,
    params: BatchParams | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Recompute the views of the trips in ``scope``; see the module doc.

    With ``workers`` > 1 (and ``conn`` not inside a transaction) the pass runs in slices of
    whole trucks on that many connections at once; the views are still replaced in one
    transaction at the end. A single trip, or a connection in a transaction, runs serially.
    ``params`` unset: those of the rules file the settings name (``LOGISTREAM_RULES_FILE``).

    ``stop`` set (a clean stop asked for): the statements in progress, the workers' included,
    are cancelled and ``psycopg.errors.QueryCanceled`` is raised; the run is rolled back, so
    the views stay as the last committed run left them.
    """
    with _cancelled_when(stop, conn):
        return _recompute(conn, registry, scope, params, workers=workers, progress=progress)


WORKER_APP = f"logistream-batch-{os.getpid()}"
"""The workers' ``application_name``, by which a stop finds their statements to cancel."""
CANCEL_EVERY_S = 0.5
"""A cancel that falls between two statements is lost: it is repeated until the run ends."""


@contextmanager
def _cancelled_when(stop: threading.Event | None, conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Within: once ``stop`` is set, cancel the run's statements, on ``conn`` and its workers'
    connections, until the block ends (from a thread: the run's own thread is in a query)."""
    if stop is None:
        yield
        return
    import psycopg

    conninfo = worker_conninfo(conn)
    ended = threading.Event()

    def cancel() -> None:
        while not ended.is_set():
            if not stop.wait(CANCEL_EVERY_S):
                continue
            try:
                conn.cancel_safe(timeout=5.0)
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as other:
                    other.execute(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = %s AND pid <> pg_backend_pid()",
                        [WORKER_APP],
                    )
            except psycopg.Error:
                pass  # the server is going away too: the workers' statements end with it
            ended.wait(CANCEL_EVERY_S)

    canceller = threading.Thread(target=cancel, name="batch-stop", daemon=True)
    canceller.start()
    try:
        yield
    finally:
        ended.set()
        canceller.join()


def _recompute(
    conn: psycopg.Connection[Any],
    registry: Registry,
    scope: Scope | None,
    params: BatchParams | None,
    *,
    workers: int,
    progress: Progress | None,
) -> RunResult:
    from psycopg.pq import TransactionStatus

    from logistream.config import get_settings

    if params is None:
        params = configured_params(get_settings().rules_file)

    scope = scope or Scope()
    clock = RunClock(progress)

    idle = conn.info.transaction_status == TransactionStatus.IDLE
    if workers <= 1 or scope.trip_id is not None or not idle:
        with conn.transaction():
            tune_for_pass(conn, local=True)
            conn.execute(XACT_LOCK)
            scope = resolve(conn, scope)
            watermark = _watermark(conn, scope)
            sync_registry(conn, registry)
            make_scope(conn, scope)
            clock.step("registry copied, scope chosen")
            conn.execute(pass_sql(params, scope_sql(scope)).encode())
            clock.step("pass over the readings")
            result = replace_views(
                conn,
                scope,
                params,
                clock,
                per_trip=PER_TRIP_TABLE,
                scope_table=SCOPE_TABLE,
                archived_before=watermark,
            )
        clock.step(f"committed: {result.trips:,} trips")
        return result
    return _recompute_parallel(conn, registry, scope, params, workers, clock)


def recompute_trip_privately(
    conn: psycopg.Connection[Any],
    registry: Registry,
    truck_id: str,
    trip_id: str,
    params: BatchParams | None = None,
) -> RunResult:
    """Inside the caller's transaction: one trip's views, from all its archived readings, in
    temporary tables named like the shared ones, which hide them until the transaction ends.

    PostgreSQL looks up an unqualified table name in the session's temporary schema first, so
    every read of the views in this transaction (the report's) sees this trip as the archive
    holds it now. Nothing shared is locked or written: a report never waits on a batch run, nor
    a run on a report. The shared views stay as the last run committed them.
    """
    from psycopg.pq import TransactionStatus

    from logistream.config import get_settings

    if conn.info.transaction_status != TransactionStatus.INTRANS:
        raise ValueError("recompute_trip_privately runs inside the caller's transaction")
    if params is None:
        params = configured_params(get_settings().rules_file)
    clock = RunClock(None)
    # Inside a longer transaction (a savepoint), an earlier report's copies are still there.
    for table in (*PRIVATE_TABLES, SCOPE_TABLE, PER_TRIP_TABLE):
        conn.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    for table in PRIVATE_TABLES:
        conn.execute(
            f"CREATE TEMP TABLE {table} (LIKE public.{table} INCLUDING ALL) ON COMMIT DROP"
        )
    tune_for_pass(conn, local=True)
    sync_registry(conn, registry)
    scope = Scope(truck_id=truck_id, trip_id=trip_id)
    make_scope(conn, scope)
    conn.execute(pass_sql(params, scope_sql(scope)).encode())
    return replace_views(
        conn,
        scope,
        params,
        clock,
        per_trip=PER_TRIP_TABLE,
        scope_table=SCOPE_TABLE,
        record=False,
    )


def _watermark(conn: psycopg.Connection[Any], scope: Scope) -> datetime | None:
    """What a run that covers every change records (inside its scope's transaction)."""
    if not scope.covers_changes:
        return None
    row = conn.execute(WATERMARK_SQL).fetchone()
    return row[0] if row else None


def _recompute_parallel(
    conn: psycopg.Connection[Any],
    registry: Registry,
    scope: Scope,
    params: BatchParams,
    workers: int,
    clock: RunClock,
) -> RunResult:
    """The pass in slices on ``workers`` connections into unlogged staging tables (committed,
    so the workers see them), then one transaction that replaces the views."""
    from psycopg.conninfo import make_conninfo
    from psycopg.pq import TransactionStatus

    conn.execute(SESSION_LOCK)
    conn.commit()
    try:
        with conn.transaction():
            scope = resolve(conn, scope)
            watermark = _watermark(conn, scope)
            sync_registry(conn, registry)
            make_scope(conn, scope, STAGE_SCOPE)
            where = scope_sql(scope, STAGE_SCOPE)
            create_stage(conn, params, where)
            estimate = estimated_readings(conn) if scope.everything else 0.0
        slices = slice_count(estimate, workers)
        clock.step(f"registry copied, scope chosen; {slices} slices on {workers} connections")
        run_slices(
            make_conninfo(worker_conninfo(conn), application_name=WORKER_APP),
            params,
            where,
            STAGE_TRIPS,
            slices=slices,
            workers=workers,
            clock=clock,
        )
        result = swap_from_stage(conn, scope, params, clock, archived_before=watermark)
        clock.step(f"committed: {result.trips:,} trips")
        clear_stage(conn)
        return result
    finally:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        conn.execute(SESSION_UNLOCK)
        conn.commit()
