"""Benchmark: the cost of tenancy on the API's shipment and fleet reads (goal: <= 20 % slower
with tenancy than without, in the same run).

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

The fleet reads, in the same rounds (issue 18's "fleet and shipment reads"):

- GET /v1/alerts?limit=50 (the archive's history) over 100,000 alert changes of 50 trucks
  (BT-000..BT-049, the last 10 days), written directly as the owner. The shipper has an active
  shipment on BT-000 (booked 30 days ago) and delivered ones on BT-001..BT-004 (60 days ago,
  so their windows hold none of the changes: the policy tests each row against 5 windows and
  keeps BT-000's). ``alert_changes``' row-level security is switched with the shipments
  tables'. The carrier: the same URL both ways. The shipper: with, GET /v1/alerts?limit=50;
  without, GET /v1/alerts?limit=50&truck=BT-000 (the same rows, the filter a caller had to be
  trusted with). The archive has no index on ``changed_at`` alone, so every page is a top-50
  of a scan (the carrier's of 100,000 rows; the shipper's with security of the same 100,000,
  each tested by the policy; without, an index range of BT-000's 2,000). So a third case,
  ``shipper_truck``, asks ?truck=BT-000 both ways: the policies' cost on the same plan.
  (--smoke: 10,000 changes.)
- GET /v1/trucks, the shipper's token (BT-000: 1 truck of 50) against the carrier's (50
  trucks), security on only (off, the tenant's trucks query would see every shipper's
  shipments). 50 trucks are written to Redis directly (the speed layer's writer; no alerts).
  The server runs with LOGISTREAM_API_FLEET_CACHE_S=0, so the carrier's fleet is read from
  Redis at each request, as the shipper's always is (by default the carrier's is a shared
  0.5 s snapshot); the shipper's request adds one PostgreSQL query (``trucks_in_care``) and
  reads its one truck. The ratio is the shipper's requests/s over the carrier's: not the
  filter's cost alone (the answers differ in size), the cost a shipper's dashboard sees.
  GET /v1/trucks/BT-000 is the same answer for both tokens: there the shipper's extra is the
  filter's one query alone.

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL /
LOGISTREAM_TEST_REDIS_URL when set, else the local stack. The database is dropped after.

    python bench/bench_tenancy.py            # about four minutes
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
import redis
from psycopg import sql

# Run as a script (``python bench/bench_tenancy.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logistream.shipments
from bench.bench_api import _closed_loop
from logistream.api.token_store import create_token
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.events import Reading
from logistream.live_views import redis_layout
from logistream.live_views.records import TruckLatest
from logistream.live_views.redis_writes import RedisLiveViewsWriter
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
    "shipment_report_versions", "lot_releases", "alert_changes",
)  # fmt: skip
ALERT_CHANGES = 100_000  # --smoke: 10,000
TRUCKS = 50
ALERT_DAYS = 10
SHIPPER_TRUCK = "BT-000"  # the shipper's active shipment; BT-001..BT-004 its delivered ones
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


def _truck(i: int) -> str:
    return f"BT-{i:03d}"


def _fill_fleet(conn: psycopg.Connection[Any], shipper: str, changes: int) -> None:
    """The shipper's shipments on the bench's trucks and ``changes`` alert changes of 50 trucks
    over the last 10 days (half opened, half resolved), as the owner."""
    # Older than every cloned shipment, so GET /v1/shipments' first pages are unchanged.
    for i in range(5):
        conn.execute(
            "INSERT INTO shipments (shipment_id, reference, shipper_id, shipper_name, "
            "receiver_id, receiver_name, cargo, truck_id, status, version, document, "
            "created_at, created_by, published_version) "
            "SELECT %(id)s, %(id)s, %(shipper)s, 'Shipper 0', receiver_id, receiver_name, "
            "cargo, %(truck)s, %(status)s, 1, document || jsonb_build_object('shipment_id', "
            "%(id)s::text, 'reference', %(id)s::text, 'truck_id', %(truck)s::text, 'shipper', "
            "jsonb_build_object('id', %(shipper)s::text, 'name', 'Shipper 0')), "
            "now() - make_interval(days => %(days)s), 'bench', 1 "
            "FROM shipments WHERE shipment_id = 'B-1'",
            {
                "id": f"F-{i}", "shipper": shipper, "truck": _truck(i),
                "status": "active" if i == 0 else "delivered", "days": 30 if i == 0 else 60,
            },
        )  # fmt: skip
    # Change g of alert AL-(g/2): g = 2k+1 opens it, g = 2k resolves it one step later.
    step = ALERT_DAYS * 86400 / changes
    conn.execute(
        "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, rule, severity, "
        "opened_at, value, threshold, message, resolved_at, payload, source_partition, "
        "source_offset) "
        "SELECT 'AL-' || (g / 2), CASE mod(g, 2) WHEN 1 THEN 'open' ELSE 'resolved' END, "
        "t.now - make_interval(secs => g * %(step)s), "
        "'BT-' || lpad(mod(g / 2, %(trucks)s)::text, 3, '0'), 'temp_high', 'warning', "
        "t.now - make_interval(secs => ((g / 2) * 2 + 1) * %(step)s), 9.1, 8.0, "
        "'Temperature 9.1 °C above 8.0 °C', "
        "CASE mod(g, 2) WHEN 0 THEN t.now - make_interval(secs => g * %(step)s) END, "
        "'{}'::jsonb, 0, g "
        "FROM generate_series(1, %(count)s) g, (SELECT now() AS now) t",
        {"step": step, "trucks": TRUCKS, "count": changes},
    )
    conn.execute("ANALYZE")


def _fill_redis(client: redis.Redis) -> None:
    """50 trucks' live views (a latest reading, no alerts), as the speed layer writes them."""
    now = time.time()
    trucks = [
        TruckLatest(_truck(i), Reading(truck_id=_truck(i), temp=5.0, timestamp=now), "ok", ())
        for i in range(TRUCKS)
    ]
    RedisLiveViewsWriter(client).write_batch(trucks, {}, [])


def _forget_redis(client: redis.Redis) -> None:
    client.delete(*(redis_layout.truck_key(_truck(i)) for i in range(TRUCKS)))
    client.zrem(redis_layout.TRUCKS, *(_truck(i) for i in range(TRUCKS)))


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
    changes = 10_000 if args.smoke else ALERT_CHANGES
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
    assert settings.redis_url
    live = redis.Redis.from_url(settings.redis_url)
    try:
        assert settings.database_url
        migrate(settings, settings.database_url)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            shipper = _fill(conn)
            _fill_fleet(conn, shipper, changes)
            carrier = create_token(conn, "bench-carrier", ["read"])
            own = create_token(conn, "bench-shipper", ["read"], shipper)
        _fill_redis(live)
        env = child_env(settings)
        env.update({"LOGISTREAM_API_BURST": "1000000000", "LOGISTREAM_API_RATE_PER_S": "1e9",
                    "LOGISTREAM_API_FLEET_CACHE_S": "0"})  # fmt: skip
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
        history = f"{base}/v1/alerts?limit=50"
        alert_cases = {
            "carrier": (history, history, carrier_h),
            "shipper": (history, f"{history}&truck={SHIPPER_TRUCK}", own_h),
            # The same query both ways: the policies' cost apart from the plan they force.
            "shipper_truck": (f"{history}&truck={SHIPPER_TRUCK}",
                              f"{history}&truck={SHIPPER_TRUCK}", own_h),
        }  # fmt: skip
        for with_rls, without_rls, headers in alert_cases.values():
            a = httpx.get(with_rls, headers=headers, timeout=10).json()["changes"]
            b = httpx.get(without_rls, headers=headers, timeout=10).json()["changes"]
            assert [(c["alert_id"], c["state"]) for c in a] == [
                (c["alert_id"], c["state"]) for c in b
            ]
            assert len(a) == 50, len(a)
        # With security on (the server's tenancy): the shipper sees its one truck in care.
        fleet_cases = {"carrier": carrier_h, "shipper": own_h}
        fleet_counts = {
            name: httpx.get(f"{base}/v1/trucks", headers=h, timeout=10).json()["count"]
            for name, h in fleet_cases.items()
        }
        assert fleet_counts == {"carrier": TRUCKS, "shipper": 1}, fleet_counts
        results: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            name: {"on": [], "off": []} for name in cases
        }
        alert_results: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            name: {"on": [], "off": []} for name in alert_cases
        }
        fleet_results: dict[str, list[tuple[float, float, float]]] = {
            name: [] for name in fleet_cases
        }
        one_truck = f"{base}/v1/trucks/{SHIPPER_TRUCK}"
        for headers in fleet_cases.values():
            assert httpx.get(one_truck, headers=headers, timeout=10).status_code == 200
        truck_results: dict[str, list[tuple[float, float, float]]] = {
            name: [] for name in fleet_cases
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
                    for name, (with_rls, without_rls, headers) in alert_cases.items():
                        url = with_rls if state == "on" else without_rls
                        run = _closed_loop(url, headers, seconds, args.clients)
                        alert_results[name][state].append(run)
                    if state == "on":
                        for name, headers in fleet_cases.items():
                            run = _closed_loop(f"{base}/v1/trucks", headers, seconds, args.clients)
                            fleet_results[name].append(run)
                            run = _closed_loop(one_truck, headers, seconds, args.clients)
                            truck_results[name].append(run)
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
        _forget_redis(live)
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
    out["alert_changes"] = changes
    for name, runs in alert_results.items():
        on = statistics.median(r[0] for r in runs["on"])
        off = statistics.median(r[0] for r in runs["off"])
        p99_on = statistics.median(r[2] for r in runs["on"])
        p99_off = statistics.median(r[2] for r in runs["off"])
        slower = (1 - on / off) * 100
        print(f"GET /v1/alerts (history, 50 of {changes:,}) as the {name}: {on:,.0f} "
              f"req/s with row-level security, {off:,.0f} without ({slower:+.1f} % slower; "
              f"goal <= 20 %); p99 {p99_on:.1f} ms vs {p99_off:.1f} ms")  # fmt: skip
        out[f"alerts_{name}"] = {
            "rls_rps": round(on, 1), "plain_rps": round(off, 1), "slower_pct": round(slower, 1),
            "rls_p99_ms": round(p99_on, 2), "plain_p99_ms": round(p99_off, 2),
        }  # fmt: skip
    fleet = {
        name: (statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs))
        for name, runs in fleet_results.items()
    }
    (own_rps, own_p99), (all_rps, all_p99) = fleet["shipper"], fleet["carrier"]
    fleet_slower = (1 - own_rps / all_rps) * 100
    print(f"GET /v1/trucks as the shipper (1 truck in care, + 1 PostgreSQL query): "
          f"{own_rps:,.0f} req/s; as the carrier (all {TRUCKS}, uncached): {all_rps:,.0f} "
          f"({fleet_slower:+.1f} % slower); p99 {own_p99:.1f} ms vs {all_p99:.1f} ms")  # fmt: skip
    out["trucks"] = {
        "shipper_rps": round(own_rps, 1), "carrier_rps": round(all_rps, 1),
        "slower_pct": round(fleet_slower, 1), "shipper_p99_ms": round(own_p99, 2),
        "carrier_p99_ms": round(all_p99, 2), "fleet": TRUCKS, "shipper_trucks": 1,
    }  # fmt: skip
    one = {
        name: (statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs))
        for name, runs in truck_results.items()
    }
    (own_rps, own_p99), (all_rps, all_p99) = one["shipper"], one["carrier"]
    one_slower = (1 - own_rps / all_rps) * 100
    print(f"GET /v1/trucks/{SHIPPER_TRUCK} (the same answer) as the shipper: {own_rps:,.0f} "
          f"req/s; as the carrier: {all_rps:,.0f} ({one_slower:+.1f} % slower: the live "
          f"filter's PostgreSQL query); p99 {own_p99:.1f} ms vs {all_p99:.1f} ms")  # fmt: skip
    out["truck"] = {
        "shipper_rps": round(own_rps, 1), "carrier_rps": round(all_rps, 1),
        "slower_pct": round(one_slower, 1), "shipper_p99_ms": round(own_p99, 2),
        "carrier_p99_ms": round(all_p99, 2),
    }  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
