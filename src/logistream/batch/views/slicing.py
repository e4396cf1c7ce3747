"""The pass cut into slices of whole trucks, run on several connections at once.

The pass is nearly all of a run's time and runs on one core per connection. A slice is the
readings of the trucks whose hashed id falls in it, so a trip (a window partition) never spans
two slices. Slices are bounded in size (``ROWS_PER_SLICE``) so that each sort stays moderate;
each slice inserts its per-trip rows into a staging table on a connection of its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from logistream.batch.views.pass_sql import pass_select, tune_for_pass
from logistream.batch.views.progress import RunClock
from logistream.coldchain.params import BatchParams

if TYPE_CHECKING:
    import psycopg

ROWS_PER_SLICE = 4_000_000
"""Readings per slice, about: a smaller slice sorts with less spilling past work_mem, but every
slice scans the whole archive once, so not many more slices than that."""


def slice_sql(k: int, n: int) -> str:
    """A filter on ``readings r``: slice ``k`` of ``n``."""
    # Whole trucks per slice keep every trip (a window partition) in one slice.
    return f"(hashtext(r.truck_id) & 2147483647) % {n} = {k}" if n > 1 else "TRUE"


def estimated_readings(conn: psycopg.Connection[Any]) -> float:
    """The planner's estimate of the archived readings (no scan)."""
    row = conn.execute(
        "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass"
    ).fetchone()
    return float(row[0]) if row else 0.0


def slice_count(estimate: float, workers: int) -> int:
    """How many slices for ``estimate`` readings: a whole number per connection."""
    per_worker = max(1, math.ceil(estimate / (workers * ROWS_PER_SLICE)))
    return workers * per_worker


def worker_conninfo(conn: psycopg.Connection[Any]) -> str:
    """The connection's own parameters, password included, for the workers' connections."""
    from psycopg.conninfo import make_conninfo

    options = {
        o.keyword.decode(): o.val.decode()
        for o in conn.pgconn.info
        if o.val is not None and o.keyword.decode() not in ("replication",)
    }
    return make_conninfo(**options)


def run_slices(
    conninfo: str,
    params: BatchParams,
    where: str,
    into: str,
    *,
    slices: int,
    workers: int,
    clock: RunClock,
) -> None:
    """The pass over the readings matching ``where``, in ``slices`` slices on ``workers``
    connections (each slice committed on its own), inserted into the table ``into``."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    def run_slice(k: int) -> int:
        with psycopg.connect(conninfo, autocommit=True) as worker:
            tune_for_pass(worker, local=False)
            where_k = f"{where} AND {slice_sql(k, slices)}"
            done = worker.execute(f"INSERT INTO {into} {pass_select(params, where_k)}".encode())
            return done.rowcount

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for k, trips in enumerate(pool.map(run_slice, range(slices))):
            clock.step(f"pass over the readings, slice {k + 1}/{slices}: {trips:,} trips")
