"""Benchmark: the integration API on a real `logistream api` server, against baselines measured
in the same run.

- fleet: GET /v1/trucks with 500 trucks in Redis (written by a real `logistream speed`),
  requests/s and latency percentiles, closed loop with several clients; baseline: GET /health
  on the same server (HTTP + auth-free framework overhead), so the ratio is the fleet's cost;
- ingest: POST /v1/readings in batches of 500, readings/s acknowledged by Kafka; baseline: the
  same readings produced straight to Kafka with the same durable producer settings;
- live: delay from an alert raised (the speed layer's write of the alert change, whose time the
  live views keep under the change's number, the event's id) to its arrival on GET /v1/stream,
  p50/p99, under an open-loop load of readings that each raise one alert; also from the
  reading's produce time (end to end).

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL /
LOGISTREAM_TEST_REDIS_URL when set, else the local stack. A fresh database, topics and Redis
database are made for the run and dropped after.

    python bench/bench_api.py            # about a minute
    python bench/bench_api.py --smoke    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis
from hdrh.histogram import HdrHistogram
from psycopg import sql

from logistream import live_views
from logistream.api.token_store import create_token
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.kafka import ensure_topics, make_producer, pipeline_topics
from logistream.live_views import RedisLiveViews
from logistream.schema.migrate import migrate
from logistream.stack.process import free_port

LOGISTREAM = str(Path(sys.executable).parent / "logistream")
TRUCKS = 500
# Roles are cluster-wide: use the test suite's passwords, so a test run on the same servers
# does not change them under this run.
BRIDGE_PW = "bridge-test-pw"
READER_PW = "reader-test-pw"


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _closed_loop(
    url: str, headers: dict[str, str], seconds: float, clients: int
) -> tuple[float, float, float]:
    """requests/s, p50 ms, p99 ms of GET ``url`` with ``clients`` concurrent clients."""
    histogram = HdrHistogram(1, 60_000_000, 3)  # microseconds
    lock = threading.Lock()
    count = [0]
    stop = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(headers=headers, timeout=30) as http:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                response = http.get(url)
                spent = int((time.perf_counter() - began) * 1e6)
                assert response.status_code == 200, response.text[:200]
                with lock:
                    histogram.record_value(max(1, spent))
                    count[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return (
        count[0] / elapsed,
        histogram.get_value_at_percentile(50) / 1000,
        histogram.get_value_at_percentile(99) / 1000,
    )


def _batches(rng: random.Random, count: int, size: int) -> list[bytes]:
    now = time.time()
    out = []
    for b in range(count):
        readings = [
            {"truck_id": f"ING-{rng.randrange(2000):04d}", "temp": round(rng.uniform(2, 8), 2),
             "timestamp": now - 7200 + (b * size + i) / 10, "fuel": 60.0, "cargo": "vaccines",
             "event_id": str(uuid.UUID(int=rng.getrandbits(128)))}
            for i in range(size)
        ]  # fmt: skip
        out.append(json.dumps(readings).encode())
    return out


def _ingest_rate(base: str, headers: dict[str, str], bodies: list[bytes], clients: int) -> float:
    queue = list(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(headers={**headers, "Content-Type": "application/json"}, timeout=60) as h:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                response = h.post(f"{base}/v1/readings", content=body)
                if response.status_code != 202:
                    failures.append(response.text[:300])

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    assert not failures, f"{len(failures)} batches refused: {failures[0]}"
    return sum(len(json.loads(b)) for b in bodies) / elapsed


def _kafka_rate(settings: Settings, bodies: list[bytes]) -> float:
    producer = make_producer(settings)
    items = [(r["truck_id"], json.dumps(r).encode()) for b in bodies for r in json.loads(b)]
    began = time.perf_counter()
    for key, value in items:
        while True:
            try:
                producer.produce(settings.topic_telemetry, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0
    return len(items) / (time.perf_counter() - began)


def _live_delays(
    settings: Settings, base: str, headers: dict[str, str], alerts: int, rate: float
) -> tuple[list[float], list[float]]:
    """(write -> stream, produce -> stream) delays in seconds, one per alert."""
    produced: dict[str, float] = {}
    received_at: dict[int, float] = {}
    e2e_delays: list[float] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", f"{base}/v1/stream", params={"trucks": "false"}, headers=headers, timeout=120
        ) as response:
            data = event_id = None
            for line in response.iter_lines():
                ready.set()
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data and event_id:
                    received = time.time()
                    alert = json.loads(data)
                    if alert["state"] == "open" and alert["truck_id"] in produced:
                        received_at[int(event_id)] = received
                        e2e_delays.append(received - produced[alert["truck_id"]])
                    if len(received_at) >= alerts:
                        return
                    data = event_id = None

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(30), "the live stream did not open"
    producer = make_producer(settings)
    start = time.perf_counter()
    for i in range(alerts):
        # Open loop: each reading leaves at its scheduled time, whatever the system does.
        time.sleep(max(0.0, start + i / rate - time.perf_counter()))
        truck = f"ALERT-{i:05d}"
        body = {"truck_id": truck, "temp": 9.5, "timestamp": time.time() - 1}
        produced[truck] = time.time()
        producer.produce(settings.topic_telemetry, key=truck, value=json.dumps(body).encode())
        producer.poll(0)
    producer.flush(30)
    listener.join(60)
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    written = {c.seq: c.written_at for c in RedisLiveViews(client).alert_changes_after(0, 100_000)}
    client.close()
    write_delays = [at - written[seq] for seq, at in received_at.items() if seq in written]
    return write_delays, e2e_delays


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="a few-second run")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    rounds, seconds = (1, 1.0) if args.smoke else (3, 5.0)
    batches, alerts = (4, 20) if args.smoke else (60, 300)
    print(f"seed={seed} trucks={TRUCKS} clients={args.clients} rounds={rounds}")

    env_kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP")
    env_db = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    env_redis = os.environ.get("LOGISTREAM_TEST_REDIS_URL")
    if not (env_kafka and env_db and env_redis):
        endpoints = resolve_endpoints()
        env_kafka, env_db, env_redis = (
            endpoints.kafka_bootstrap, endpoints.database_url, endpoints.redis_url
        )  # fmt: skip
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_api_{suffix}"
    redis_url = _with_path(env_redis, f"/{rng.randrange(1, 256)}")
    settings = Settings(
        kafka_bootstrap=env_kafka,
        database_url=_with_path(env_db, f"/{database}"),
        redis_url=redis_url,
        database_name=database,
        topic_telemetry=f"bench_api_telemetry.{suffix}",
        topic_alerts=f"bench_api_alerts.{suffix}",
        topic_commands=f"bench_api_commands.{suffix}",
        topic_dlq=f"bench_api_telemetry.{suffix}.dlq",
        speed_group=f"bench-api-speed.{suffix}",
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
        home=Path(f"/tmp/bench_api_{suffix}"),
    )
    with psycopg.connect(env_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ensure_topics(settings, pipeline_topics(settings), partitions=6)
        assert settings.database_url
        migrate(settings, settings.database_url)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            token = create_token(conn, "bench", ["read", "ingest"])
        headers = {"Authorization": f"Bearer {token}"}
        env = child_env(settings)
        env.update({"LOGISTREAM_API_BURST": "1000000000", "LOGISTREAM_API_RATE_PER_S": "1e9"})
        log = open(f"/tmp/bench_api_{suffix}.log", "ab")  # noqa: SIM115 - for the run
        procs.append(subprocess.Popen([LOGISTREAM, "speed"], env=env, stdout=log, stderr=log))

        producer = make_producer(settings)
        now = time.time()
        for i in range(TRUCKS):
            truck = f"KFL {i:03d}X"
            body = {
                "truck_id": truck, "temp": round(rng.uniform(2, 8), 2), "timestamp": now - 5,
                "fuel": 70.0, "cargo": "vaccines", "lat": -1.28, "lon": 36.8 + i / 1000,
                "speed_kmh": 60.0, "trip_id": f"trip-{i}", "driver_id": f"DRV-{i % 50}",
            }  # fmt: skip
            producer.produce(settings.topic_telemetry, key=truck, value=json.dumps(body).encode())
        assert producer.flush(30) == 0
        _wait(lambda: len(live_views.read_truck_ids(store)) >= TRUCKS, 120, "500 trucks in Redis")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "logistream.api",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        )

        def up() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(up, 60, "the API to answer")
        fleet = httpx.get(f"{base}/v1/trucks", headers=headers, timeout=10).json()
        assert fleet["count"] == TRUCKS, fleet["count"]
        print(f"fleet response: {TRUCKS} trucks, {len(json.dumps(fleet)) / 1024:.0f} KiB")

        health_runs, fleet_runs = [], []
        for _ in range(rounds):
            health_runs.append(_closed_loop(f"{base}/health", {}, seconds, args.clients))
            fleet_runs.append(_closed_loop(f"{base}/v1/trucks", headers, seconds, args.clients))

        def med(runs: list[tuple[float, float, float]], i: int) -> float:
            return statistics.median(r[i] for r in runs)

        print(f"baseline GET /health:   {med(health_runs, 0):>8,.0f} req/s  "
              f"p50 {med(health_runs, 1):.1f} ms  p99 {med(health_runs, 2):.1f} ms")  # fmt: skip
        print(f"GET /v1/trucks (500):   {med(fleet_runs, 0):>8,.0f} req/s  "
              f"p50 {med(fleet_runs, 1):.1f} ms  p99 {med(fleet_runs, 2):.1f} ms")  # fmt: skip
        print(f"ratio fleet / health:   {med(fleet_runs, 0) / med(health_runs, 0):.0%} of the "
              "requests/s (medians of rounds)")  # fmt: skip

        http_rates, kafka_rates = [], []
        for _ in range(rounds):
            bodies = _batches(rng, batches, 500)
            kafka_rates.append(_kafka_rate(settings, bodies))
            http_rates.append(_ingest_rate(base, headers, bodies, 4))
        http_rate, kafka_rate = statistics.median(http_rates), statistics.median(kafka_rates)
        print(f"baseline Kafka produce: {kafka_rate:>8,.0f} readings/s (same readings, durable)")
        print(f"POST /v1/readings:      {http_rate:>8,.0f} readings/s (batches of 500, 4 clients,"
              " answered after Kafka acks)")  # fmt: skip
        print(f"ratio HTTP / Kafka:     {http_rate / kafka_rate:.0%}")

        rate = 20.0
        writes, e2e = _live_delays(settings, base, headers, alerts, rate)
        assert len(writes) >= alerts * 0.9, f"only {len(writes)} of {alerts} alerts arrived"
        print(f"live: {len(writes)} alerts at {rate:.0f}/s (open loop)")
        print(f"  raised -> on the stream:   p50 {_pct(writes, 0.5):.1f} ms  "
              f"p99 {_pct(writes, 0.99):.1f} ms")  # fmt: skip
        print(f"  produced -> on the stream: p50 {_pct(e2e, 0.5):.1f} ms  "
              f"p99 {_pct(e2e, 0.99):.1f} ms (includes the speed layer)")  # fmt: skip
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
        store.flushdb()
        store.close()
        from confluent_kafka.admin import AdminClient

        from logistream.speed.checkpoint import checkpoint_topic

        topics = [*pipeline_topics(settings), checkpoint_topic(settings)]
        AdminClient({"bootstrap.servers": env_kafka}).delete_topics(topics, operation_timeout=30)
        with psycopg.connect(env_db, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


if __name__ == "__main__":
    main()
