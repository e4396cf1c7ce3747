"""Benchmark: ``logistream audit verify`` over 1,000,000 audit rows (seconds, rows/s).

The rows are made in Python the way ``audit.trail.record`` makes them (the same hash chain,
``audit.chain``), varied like real entries (actors, sources, organisations, shipments and lots,
before/after documents, some reasons), and COPYed into a fresh database's ``audit_log``. One
run is what the command does after its connection: stream every row in seq order through a
server-side cursor and recompute the chain (``audit.verify.verify``). Median of 3 runs.

Baseline, same run and rows: the same server-side cursor fetching the same columns without
parsing or hashing (what the walk costs beyond reading the table).

Servers: LOGISTREAM_TEST_DATABASE_URL (a role that may create databases) when set, else the
local stack's PostgreSQL. The database is dropped after.

    python bench/bench_audit_verify.py            # 1,000,000 rows, 3 runs
    python bench/bench_audit_verify.py --smoke    # 20,000 rows, 3 runs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Run as a script (``python bench/bench_audit_verify.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logistream.audit.chain import GENESIS_HASH, ChainRow, row_hash
from logistream.audit.verify import COLUMNS, FETCH_ROWS, TEXT_COLUMNS, verify
from logistream.config import Settings, resolve_endpoints
from logistream.schema.migrate import migrate

START = datetime(2026, 1, 1, tzinfo=UTC)
BRIDGE_PW = "bench-bridge-pw"
READER_PW = "bench-reader-pw"
SEED = 18
ACTIONS = (
    ("shipment", "create"),
    ("shipment", "cancel"),
    ("shipment", "override_stage"),
    ("lot", "pod"),
    ("lot", "release"),
    ("mode", "set_mode"),
    ("alert", "ack"),
    ("user", "add_user"),
    ("token", "revoke_token"),
)
ACTORS = (
    ("alice", "dashboard", None),
    ("dispatch-7", "dashboard", None),
    ("erp-link", "api", "acme-pharma"),
    ("kisumu-dc", "api", "kisumu-hospital"),
    ("ops", "cli", None),
    ("speed", "service", None),
)


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _rows(n: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """``n`` chained rows in the table's column order (``verify.COLUMNS``)."""
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        kind, action = ACTIONS[rng.randrange(len(ACTIONS))]
        actor, source, organisation = ACTORS[rng.randrange(len(ACTORS))]
        shipment = f"SHP-{rng.randrange(50_000):05d}"
        subject = f"{shipment}/LOT-{rng.randrange(8)}" if kind == "lot" else shipment
        before = None if action in ("create", "add_user") else {"status": "active", "v": seq - 1}
        after = {"status": action, "v": seq, "truck": f"KB{rng.randrange(500):03d}"}
        reason = "asked by the shipper" if rng.random() < 0.2 else None
        row = ChainRow(
            seq, START + timedelta(milliseconds=250 * seq), actor, source, organisation,
            action, kind, subject, before, after, reason,
        )  # fmt: skip
        this = row_hash(prev, row)
        yield (*(getattr(row, f) for f in ChainRow.__slots__), prev, this)
        prev = this


def _fill(conn: psycopg.Connection[Any], n: int) -> float:
    rng = random.Random(SEED)
    began = time.perf_counter()
    with conn.cursor() as cur, cur.copy(f"COPY audit_log ({COLUMNS}) FROM STDIN") as copy:
        for row in _rows(n, rng):
            before, after = row[8], row[9]
            copy.write_row(
                (*row[:8], None if before is None else json.dumps(before),
                 json.dumps(after), *row[10:])
            )  # fmt: skip
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE audit_log")
    return time.perf_counter() - began


def _fetch_only(conn: psycopg.Connection[Any]) -> int:
    count = 0
    with conn.transaction(), conn.cursor("audit_fetch") as cur:
        cur.itersize = FETCH_ROWS
        cur.execute(f"SELECT {TEXT_COLUMNS} FROM audit_log ORDER BY seq")
        for _row in cur:
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="20,000 rows")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = 20_000 if args.smoke else args.rows
    print(f"seed {SEED}")

    admin_url = os.environ.get("LOGISTREAM_TEST_DATABASE_URL") or resolve_endpoints().database_url
    database = f"bench_audit_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=_with_db(admin_url, database),
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        assert settings.database_url
        migrate(settings, settings.database_url)
        with psycopg.connect(settings.database_url) as conn:
            fill_s = _fill(conn, rows)
        print(f"filled {rows:,} chained audit rows (generate + COPY) in {fill_s:.1f} s")
        times: list[float] = []
        baseline: list[float] = []
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            for _ in range(args.runs):
                began = time.perf_counter()
                result = verify(conn)
                times.append(time.perf_counter() - began)
                assert result.broken is None, result.line()
                assert result.rows == rows
                began = time.perf_counter()
                assert _fetch_only(conn) == rows
                baseline.append(time.perf_counter() - began)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    median, base = statistics.median(times), statistics.median(baseline)
    print(f"audit verify over {rows:,} rows, median of {args.runs}: {median:.2f} s "
          f"({rows / median:,.0f} rows/s)")  # fmt: skip
    print(
        f"baseline fetch only (same cursor, no hashing): {base:.2f} s ({rows / base:,.0f} rows/s)"
    )
    print(
        json.dumps(
            {
                "bench": "audit_verify",
                "rows": rows,
                "runs": args.runs,
                "median_s": round(median, 3),
                "max_s": round(max(times), 3),
                "rows_per_s": round(rows / median),
                "baseline_fetch_s": round(base, 3),
                "fill_s": round(fill_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
