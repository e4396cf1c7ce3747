"""Benchmark: the cost of tenancy on GET /v1/shipments (goal: <= 20 % slower with row-level
security than without, in the same run).

A real `logistream api` server over a fresh database of 1,000 shipments of 10 shippers (the
example vaccine shipment cloned, delivered), closed loop with several clients, GET
/v1/shipments?limit=50, in rounds that alternate the shipments tables' row-level security on and
off (``ALTER TABLE ... ENABLE|DISABLE ROW LEVEL SECURITY`` by the owner between rounds; the
server keeps running), median of the rounds:

- the carrier's token (no organisation: the policy's 'carrier' branch): the same 50 rows with
  and without;
- a shipper's token: with row-level security, GET /v1/shipments (its 100 shipments, newest 50);
  without, the same rows asked as GET /v1/shipments?shipper=ID, the filter a caller had to
  trust before tenancy.

"Without" keeps the per-request transaction that sets the organisation (reads.tenancy.scoped),
so the ratio is the policies' cost; the transaction's own round trips are in both. The route's
time is mostly building the 50 records (each document validated against the registry), so the
same run also times the page's SQL alone (reads.shipment_pages' query on a reader connection
in ``scoped``, one client), where the policies' share is largest.

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL /
LOGISTREAM_TEST_REDIS_URL when set, else the local stack. The database is dropped after.

    python bench/bench_tenancy.py            # about a minute
    python bench/bench_tenancy.py --smoke    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

# Run as a script (``python bench/bench_tenancy.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logistream.shipments
from bench.bench_api import _closed_loop
from logistream.api.token_store import create_token
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.reads.connect import connect_reader
from logistream.reads.shipment_pages import ShipmentFilter, shipments_where
from logistream.reads.tenancy import scoped
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import RECORD_COLUMNS, ShipmentStore, new_record
from logistream.stack.process import free_port

SHIPMENTS = 1000
SHIPPERS = 10
TABLES = (
    "shipments", "shipment_lots", "shipment_stops", "shipment_changes", "shipment_pod",
    "shipment_report_versions", "lot_releases",
)  # fmt: skip
BRIDGE_PW = "bridge-test-pw"  # the test suite's, as bench_api: roles are cluster-wide
READER_PW = "reader-test-pw"


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _fill(conn: psycopg.Connection[Any]) -> str:
    """1,000 delivered shipments of shippers shipper-0..9, cloned from the example; the first
    shipper's id."""
    registry = load_registry()
    example = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
    shipment = load_shipment_file(example, registry)
    ShipmentStore(conn, registry).create(new_record(shipment), "bench")
    conn.execute(
        "INSERT INTO shipments (shipment_id, reference, shipper_id, shipper_name, receiver_id, "
        "receiver_name, cargo, truck_id, status, version, document, created_at, created_by, "
        "published_version) "
        "SELECT 'B-' || g, 'REF-' || g, 'shipper-' || mod(g, %s), 'Shipper ' || mod(g, %s), "
        "receiver_id, receiver_name, cargo, truck_id, 'delivered', 1, document || "
        "jsonb_build_object('shipment_id', 'B-' || g, 'reference', 'REF-' || g, 'shipper', "
        "jsonb_build_object('id', 'shipper-' || mod(g, %s), 'name', 'Shipper ' || mod(g, %s))), "
        "created_at - make_interval(mins => g), 'bench', 1 "
        "FROM shipments, generate_series(1, %s) g WHERE shipment_id = %s",
        [SHIPPERS, SHIPPERS, SHIPPERS, SHIPPERS, SHIPMENTS - 1, shipment.shipment_id],
    )
    conn.execute("ANALYZE")
    return "shipper-0"


def _security(conn: psycopg.Connection[Any], on: bool) -> None:
    verb = "ENABLE" if on else "DISABLE"
    for table in TABLES:
        conn.execute(
            sql.SQL("ALTER TABLE {} {} ROW LEVEL SECURITY").format(
                sql.Identifier(table), sql.SQL(verb)
            )
        )


def _sql_rate(settings: Settings, organisation: str, f: ShipmentFilter, seconds: float) -> float:
    """Pages of 50 (the route's query) per second on one reader connection, each in ``scoped``."""
    where, params = shipments_where(f, None)
    query = (
        f"SELECT {RECORD_COLUMNS}, created_at FROM shipments WHERE {where} "
        "ORDER BY created_at DESC, shipment_id DESC LIMIT 51"
    ).encode()
    count = 0
    with connect_reader(settings) as conn:
        stop = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < stop:
            with scoped(conn, organisation):
                assert len(conn.execute(query, params).fetchall()) == 51
            count += 1
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="a few-second run")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    rounds, seconds = (1, 1.0) if args.smoke else (4, 4.0)
    print(f"seed={seed} shipments={SHIPMENTS} clients={args.clients} rounds={rounds}")

    env_kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP")
    env_db = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    env_redis = os.environ.get("LOGISTREAM_TEST_REDIS_URL")
    if not (env_kafka and env_db and env_redis):
        endpoints = resolve_endpoints()
        env_kafka, env_db, env_redis = (
            endpoints.kafka_bootstrap, endpoints.database_url, endpoints.redis_url
        )  # fmt: skip
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_tenancy_{suffix}"
    settings = Settings(
        kafka_bootstrap=env_kafka,
        database_url=_with_path(env_db, f"/{database}"),
        redis_url=_with_path(env_redis, f"/{rng.randrange(1, 256)}"),
        database_name=database,
        topic_shipments=f"bench_tenancy_shipments.{suffix}",
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
        home=Path(f"/tmp/bench_tenancy_{suffix}"),
    )
    with psycopg.connect(env_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    server: subprocess.Popen[bytes] | None = None
    try:
        assert settings.database_url
        migrate(settings, settings.database_url)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            shipper = _fill(conn)
            carrier = create_token(conn, "bench-carrier", ["read"])
            own = create_token(conn, "bench-shipper", ["read"], shipper)
        env = child_env(settings)
        env.update({"LOGISTREAM_API_BURST": "1000000000", "LOGISTREAM_API_RATE_PER_S": "1e9"})
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(f"/tmp/bench_tenancy_{suffix}.log", "ab")  # noqa: SIM115 - for the run
        server = subprocess.Popen(
            [sys.executable, "-m", "logistream.api", "--port", str(port), "--log-level",
             "warning"],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the API did not answer within 60 s")
            time.sleep(0.2)

        carrier_h = {"Authorization": f"Bearer {carrier}"}
        own_h = {"Authorization": f"Bearer {own}"}
        cases = {
            "carrier": (f"{base}/v1/shipments?limit=50", f"{base}/v1/shipments?limit=50",
                        carrier_h),
            "shipper": (f"{base}/v1/shipments?limit=50",
                        f"{base}/v1/shipments?limit=50&shipper={shipper}", own_h),
        }  # fmt: skip
        # The same rows either way (checked once, with security on).
        for with_rls, without_rls, headers in cases.values():
            a = httpx.get(with_rls, headers=headers, timeout=10).json()["shipments"]
            b = httpx.get(without_rls, headers=headers, timeout=10).json()["shipments"]
            assert [s["shipment_id"] for s in a] == [s["shipment_id"] for s in b]
            assert len(a) == 50, len(a)
        results: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            name: {"on": [], "off": []} for name in cases
        }
        sql_cases = {
            "carrier": ("carrier", ShipmentFilter(), ShipmentFilter()),
            "shipper": (shipper, ShipmentFilter(), ShipmentFilter(shipper=shipper)),
        }
        sql_results: dict[str, dict[str, list[float]]] = {
            name: {"on": [], "off": []} for name in sql_cases
        }
        with psycopg.connect(settings.database_url, autocommit=True) as owner:
            for _ in range(rounds):
                for state in ("on", "off"):
                    _security(owner, state == "on")
                    for name, (with_rls, without_rls, headers) in cases.items():
                        url = with_rls if state == "on" else without_rls
                        run = _closed_loop(url, headers, seconds, args.clients)
                        results[name][state].append(run)
                    for name, (org, with_f, without_f) in sql_cases.items():
                        chosen = with_f if state == "on" else without_f
                        sql_results[name][state].append(
                            _sql_rate(settings, org, chosen, seconds / 2)
                        )
            _security(owner, True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        with psycopg.connect(env_db, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    out: dict[str, Any] = {"bench": "tenancy", "shipments": SHIPMENTS, "rounds": rounds}
    for name, runs in results.items():
        on = statistics.median(r[0] for r in runs["on"])
        off = statistics.median(r[0] for r in runs["off"])
        p99_on = statistics.median(r[2] for r in runs["on"])
        p99_off = statistics.median(r[2] for r in runs["off"])
        slower = (1 - on / off) * 100
        print(f"GET /v1/shipments as the {name}: {on:,.0f} req/s with row-level security, "
              f"{off:,.0f} without ({slower:+.1f} % slower; goal <= 20 %); "
              f"p99 {p99_on:.1f} ms vs {p99_off:.1f} ms")  # fmt: skip
        sql_on = statistics.median(sql_results[name]["on"])
        sql_off = statistics.median(sql_results[name]["off"])
        sql_slower = (1 - sql_on / sql_off) * 100
        print(f"  its SQL alone: {sql_on:,.0f} pages/s with, {sql_off:,.0f} without "
              f"({sql_slower:+.1f} % slower)")  # fmt: skip
        out[name] = {
            "rls_rps": round(on, 1), "plain_rps": round(off, 1), "slower_pct": round(slower, 1),
            "rls_p99_ms": round(p99_on, 2), "plain_p99_ms": round(p99_off, 2),
            "sql_rls_per_s": round(sql_on, 1), "sql_plain_per_s": round(sql_off, 1),
            "sql_slower_pct": round(sql_slower, 1),
        }  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
