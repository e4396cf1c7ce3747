"""Which trips a batch run recomputes: all, those with a reading in a time range, or one trip.

A trip in scope is recomputed whole, from all its readings, even when only some of them fall
in the range. The trips are written to a table (``batch_scope``, temporary; or an unlogged one
that the parallel workers' sessions can read too), and ``scope_sql`` filters ``readings r`` by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg


SCOPE_TABLE = "batch_scope"
"""The serial run's scope: a temporary table, dropped at the end of the run's transaction."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which trips to recompute: everything (the default), a time range, or one trip."""

    start: datetime | None = None
    end: datetime | None = None
    truck_id: str | None = None
    trip_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.start is None and self.end is None and self.trip_id is None


def scope_sql(scope: Scope, table: str = SCOPE_TABLE) -> str:
    """A filter on ``readings r`` (after the scope table exists)."""
    if scope.everything:
        return "TRUE"
    return (
        f"r.truck_id IN (SELECT truck_id FROM {table}) "
        f"AND (r.truck_id, {TRIP_EXPR}) IN (SELECT truck_id, trip_id FROM {table})"
    )


def make_scope(conn: psycopg.Connection[Any], scope: Scope, table: str = SCOPE_TABLE) -> None:
    """The trips in scope; a temporary table, or (any other name) an unlogged one that the
    parallel workers' sessions can read too."""
    if table == SCOPE_TABLE:
        conn.execute(
            f"CREATE TEMP TABLE {SCOPE_TABLE} (truck_id text, trip_id text) ON COMMIT DROP"
        )
    else:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE UNLOGGED TABLE {table} (truck_id text, trip_id text)")
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
    else:
        conn.execute(
            f"INSERT INTO {table} SELECT DISTINCT r.truck_id, {TRIP_EXPR} FROM readings r "
            "WHERE (%s::timestamptz IS NULL OR r.event_time >= %s) "
            "AND (%s::timestamptz IS NULL OR r.event_time < %s)",
            [scope.start, scope.start, scope.end, scope.end],
        )
    conn.execute(f"ANALYZE {table}")
