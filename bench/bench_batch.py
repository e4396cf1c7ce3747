"""Benchmark: time to recompute every batch view from the raw archive.

The archive is filled inside PostgreSQL with generate_series (no Kafka): ``--trucks`` trucks
reading once a minute for ``--days`` days (default 500 x 30 = 21.6 million readings), in daily
trips with a temperature excursion now and then, fuel use, a refuel a day, and speed changes.
Then ``recompute`` (the code behind ``logistream batch``) runs over everything, twice: the
second run shows the steady figure and that nothing changed.

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
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from logistream.batch.views.recompute import recompute
from logistream.config import Settings, resolve_endpoints
from logistream.registry import cached_registry
from logistream.schema.migrate import apply_migrations, shipped_migrations

FILL = """
INSERT INTO readings (event_id, event_time, truck_id, temp, fuel, trip_id, driver_id, cargo,
                      lat, lon, speed_kmh, door_open, reefer_on, defrost, source_partition,
                      source_offset)
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
       false, true, false, 0, m
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="20 trucks x 2 days")
    parser.add_argument("--keep", action="store_true", help="Do not drop the database after.")
    parser.add_argument("--workers", type=int, default=2, help="Connections for the pass.")
    parser.add_argument("--runs", type=int, default=2, help="Recomputes to time (median).")
    args = parser.parse_args()
    trucks, days = (20, 2) if args.smoke else (args.trucks, args.days)

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
            for d in range(days):  # a day at a time keeps memory flat
                conn.execute(
                    FILL,
                    {"start": start, "trucks": trucks, "m0": d * 1440, "m1": (d + 1) * 1440},
                )
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
                }
            )
        )
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
