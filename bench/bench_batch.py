"""Benchmark: time to recompute every batch view from the raw archive.

The archive is filled inside PostgreSQL with generate_series (no Kafka): ``--trucks`` trucks
reading once a minute for ``--days`` days (default 500 x 30 = 21.6 million readings), in daily
trips with a temperature excursion now and then, fuel use, a refuel a day, and speed changes.
Then ``recompute`` (the code behind ``logistream batch``) runs over everything, twice: the
second run shows the steady figure and that nothing changed.

The incremental step (issue 19: ``logistream batch --changed`` < 5 s after one new hour of a
500-truck fleet): the fill stops ``--hours`` hours before the end of its last day, every
reading archived two seconds after its event time; after the full runs, one more hour is
archived for every truck (archived now) and the ``changed`` run is timed, once per hour
(median). The new hours extend the trips in progress (a day long here), so each run rereads
those trips whole, as a real fleet's mid-trip hour would make it (a new trip would be
cheaper). Each run must recompute exactly one trip per truck, and at the end the views it
leaves must equal those of one more full run over the same data (rows compared as JSON, floats
to 6 decimals, as tests/integration/test_batch_changed_only.py does); the bench exits 1 if not.

Servers: LOGISTREAM_TEST_DATABASE_URL (a role that may create databases) when set, else the
local stack. A fresh database is created for the run and dropped after.

    python bench/bench_batch.py                 # 500 trucks x 30 days (goal: < 60 s)
    python bench/bench_batch.py --smoke         # a few seconds
    python bench/bench_batch.py --trucks 100 --days 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from logistream.batch.views.recompute import VIEW_TABLES, Scope, recompute
from logistream.config import Settings, resolve_endpoints
from logistream.registry import Registry, cached_registry
from logistream.schema.migrate import apply_migrations, shipped_migrations

FILL = """
INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, trip_id, driver_id, cargo,
                      lat, lon, speed_kmh, door_open, reefer_on, defrost, source_partition,
                      source_offset, archived_at)
SELECT md5(k::text || '/' || m::text), %(start)s::timestamptz + m * interval '1 minute', truck,
       -- 5 °C with noise; a slow excursion in the afternoon every seventh day per truck
       5.0 + 0.3 * sin(m / 7.0 + k)
           + CASE WHEN (m / 1440 + k) %% 7 = 0 AND m %% 1440 BETWEEN 840 AND 960
                  THEN 5.0 * sin(pi() * (m %% 1440 - 840) / 120.0) ELSE 0 END,
       -- burning 0.6 %% an hour, refuelled to 90 %% at the start of each day
       greatest(5.0, 90.0 - 0.6 * (m %% 1440) / 60.0),
       truck || '-' || (m / 1440)::text, 'DRV-' || lpad(k::text, 4, '0'), 'vaccines',
       -1.3 - 0.001 * (m %% 1440), 36.8 + 0.0001 * k,
       CASE WHEN m %% 1440 < 60 OR m %% 1440 > 1380 THEN 0.0
            ELSE 65.0 + 20.0 * sin(m / 30.0 + k) END,
       false, true, false, 0, m,
       -- archived two seconds after the event (the fill), or at the time given (a new hour)
       coalesce(%(archived_at)s::timestamptz,
                %(start)s::timestamptz + m * interval '1 minute' + interval '2 seconds')
FROM generate_series(0, %(trucks)s - 1) AS k
CROSS JOIN LATERAL (SELECT 'KB' || lpad(k::text, 4, '0') || 'X' AS truck) t
CROSS JOIN generate_series(%(m0)s, %(m1)s - 1) AS m
"""


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn, shipped_migrations())


def _rounded(value: Any) -> Any:
    # Sums over a trip may be added up in another order by another plan: last bits differ.
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _views(url: str) -> dict[str, list[str]]:
    """Every view table's rows (floats to 6 decimals), sorted."""
    with psycopg.connect(url) as conn:
        return {
            table: sorted(
                json.dumps(_rounded(row), sort_keys=True)
                for (row,) in conn.execute(f"SELECT to_jsonb(t) FROM {table} t").fetchall()
            )
            for table in (*VIEW_TABLES, "reconciliation")
        }


def _incremental(
    url: str, registry: Registry, fill: dict[str, Any], hours: int, workers: int
) -> dict[str, Any]:
    """Archive one more hour per truck, time the changed run; ``hours`` times. Then check the
    views against one more full run."""
    trucks, held_from = int(fill["trucks"]), int(fill["m1"])
    seconds, trips, readings = [], [], 0
    for h in range(hours):
        with psycopg.connect(url, autocommit=True) as conn:
            added = conn.execute(
                FILL,
                {
                    **fill,
                    "m0": held_from + h * 60,
                    "m1": held_from + (h + 1) * 60,
                    "archived_at": datetime.now(UTC),
                },
            )
            readings += added.rowcount
        with psycopg.connect(url) as conn:
            result = recompute(conn, registry, Scope(changed=True), workers=workers)
        seconds.append(result.seconds)
        trips.append(result.trips)
        print(f"changed run after hour {h + 1}: {result.trips:,} trips in {result.seconds:.2f} s")
    changed = _views(url)
    with psycopg.connect(url) as conn:
        full = recompute(conn, registry, workers=workers)
    print(f"full run for the check: {full.trips:,} trips in {full.seconds:.1f} s")
    same = _views(url) == changed
    return {
        "hours": hours,
        "readings_per_hour": readings // max(hours, 1),
        "seconds": [round(s, 2) for s in seconds],
        "median_s": round(statistics.median(seconds), 2) if seconds else None,
        "goal_s": 5,
        "trips": trips,
        "only_that_hours_trips": all(t == trucks for t in trips),
        "views_equal_full_run": same,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="20 trucks x 2 days, 1 new hour")
    parser.add_argument("--keep", action="store_true", help="Do not drop the database after.")
    parser.add_argument("--workers", type=int, default=2, help="Connections for the pass.")
    parser.add_argument("--runs", type=int, default=2, help="Recomputes to time (median).")
    parser.add_argument(
        "--hours", type=int, default=3, help="New hours, each followed by a timed changed run."
    )
    args = parser.parse_args()
    trucks, days = (20, 2) if args.smoke else (args.trucks, args.days)
    hours = 1 if args.smoke else min(args.hours, 23)

    admin = (
        os.environ.get("LOGISTREAM_TEST_DATABASE_URL") or resolve_endpoints(Settings()).database_url
    )
    database = f"bench_batch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = _with_db(admin, database)
    try:
        _schema(url)
        first_day = date.today() - timedelta(days=days + 1)
        start = datetime.combine(first_day, datetime.min.time(), UTC)
        began = time.monotonic()
        with psycopg.connect(url, autocommit=True) as conn:
            for d in range(days):
                conn.execute("SELECT ensure_reading_partition(%s)", [first_day + timedelta(d)])
            fill: dict[str, Any] = {"start": start, "trucks": trucks, "archived_at": None}
            for d in range(days):  # a day at a time keeps memory flat
                # The last hours of the last day are held back for the incremental step.
                end = (d + 1) * 1440 - (hours * 60 if d == days - 1 else 0)
                conn.execute(FILL, {**fill, "m0": d * 1440, "m1": end})
            fill["m1"] = end
            conn.execute("VACUUM ANALYZE readings")
            count = conn.execute("SELECT count(*) FROM readings").fetchone()
        fill_s = time.monotonic() - began
        readings = int(count[0]) if count else 0
        print(f"filled {readings:,} readings ({trucks} trucks x {days} days) in {fill_s:.1f} s")
        registry = cached_registry()
        runs = []
        for _ in range(args.runs):
            with psycopg.connect(url) as conn:
                result = recompute(
                    conn,
                    registry,
                    workers=args.workers,
                    progress=lambda step, s: print(f"  {s:7.1f} s  {step}", flush=True),
                )
            runs.append(result.seconds)
            print(f"recompute: {result.trips:,} trips in {result.seconds:.1f} s")
        with psycopg.connect(url) as conn:
            verdicts: dict[str, int] = dict(
                conn.execute("SELECT verdict, count(*) FROM trip_compliance GROUP BY 1").fetchall()
            )
        incremental = _incremental(url, registry, fill, hours, args.workers)
        print(
            json.dumps(
                {
                    "bench": "batch_recompute",
                    "readings": readings,
                    "trucks": trucks,
                    "days": days,
                    "workers": args.workers,
                    "seconds": [round(s, 2) for s in runs],
                    "median_s": round(statistics.median(runs), 2),
                    "readings_per_s": round(readings / min(runs)),
                    "goal_s": 60,
                    "verdicts": verdicts,
                    "incremental": incremental,
                }
            )
        )
        if not (incremental["only_that_hours_trips"] and incremental["views_equal_full_run"]):
            print("the changed runs did not recompute only the new hour's trips, or their views")
            print("differ from a full run's")
            raise SystemExit(1)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


if __name__ == "__main__":
    main()
