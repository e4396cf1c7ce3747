"""Benchmark: archive throughput of one `logistream bridge` process vs the raw PostgreSQL limit.

Both figures come from the same run, on the same servers, with the same rows:
- bridge: a real `logistream bridge` process drains a pre-filled topic (Kafka -> decode ->
  COPY -> de-dup -> offsets in the same transaction); the rate is measured from its first
  commit to its last, so process start-up is not counted;
- raw limit: the same rows, already decoded, written the same way (binary COPY into staging,
  INSERT ... ON CONFLICT DO NOTHING, offsets upserted in the same transaction) with no Kafka.

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL (a role that may
create databases) when set, else the local stack (`logistream stack up`). A fresh database and
fresh topics are created for the run and dropped after.

    python bench/bench_bridge.py            # 400,000 readings
    python bench/bench_bridge.py --smoke    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from logistream.batch.archive import Archive
from logistream.batch.cli import bridge_conninfo
from logistream.batch.records import Consumed, SortedBatch, sort_batch
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.kafka import ensure_topics, make_producer
from logistream.schema.migrate import migrate

BRIDGE_PW = "bench-bridge-pw"
READER_PW = "bench-reader-pw"


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _readings(count: int, seed: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of ``count`` unique readings from 200 trucks over the last hours."""
    rng = random.Random(seed)
    start = time.time() - count / 50
    out = []
    for i in range(count):
        truck = f"KBN-{rng.randrange(200):03d}"
        body = {
            "truck_id": truck, "temp": round(rng.uniform(2, 8), 2), "fuel": 55.5,
            "timestamp": start + i / 50, "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "seq": i, "lat": -1.28 + rng.random() / 10, "lon": 36.8 + rng.random() / 10,
            "speed_kmh": 62.0, "cargo": "vaccines", "door_open": False,
        }  # fmt: skip
        out.append((truck.encode(), json.dumps(body).encode()))
    return out


def _fill(settings: Settings, records: list[tuple[bytes, bytes]]) -> list[Consumed]:
    """Produce the readings; return them as the bridge will consume them (for the raw run)."""
    overrides: dict[str, Any] = {"linger.ms": 50, "batch.size": 1_000_000}
    producer = make_producer(settings, **overrides)
    consumed: list[Consumed] = []

    def report(error: object, m: Any) -> None:  # m: confluent_kafka.Message
        assert error is None, error
        consumed.append(
            Consumed(m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.timestamp()[1])
        )

    for key, value in records:
        while True:
            try:
                producer.produce(settings.topic_telemetry, value, key, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(120) == 0
    return consumed


def _raw_limit(settings: Settings, url: str, consumed: list[Consumed], batch_size: int) -> float:
    """Readings/s of the archive write path alone: decoded rows, no Kafka."""
    by_partition: dict[int, list[Consumed]] = {}
    for m in consumed:
        by_partition.setdefault(m.partition, []).append(m)
    ordered = [
        m for p in sorted(by_partition) for m in sorted(by_partition[p], key=lambda m: m.offset)
    ]
    batches: list[SortedBatch] = [
        sort_batch(ordered[i : i + batch_size], telemetry_topic=settings.topic_telemetry,
                   alerts_topic=settings.topic_alerts, max_bytes=settings.max_message_bytes,
                   future_tolerance_s=settings.future_tolerance_s, now_ms=int(time.time() * 1000))
        for i in range(0, len(ordered), batch_size)
    ]  # fmt: skip
    archive = Archive(bridge_conninfo(url, BRIDGE_PW), "bench-raw", "bench-raw")
    days = set().union(*(b.days for b in batches))
    archive.ensure_partitions(days, today=int(time.time() // 86_400))
    began = time.perf_counter()
    for batch in batches:
        archive.write(batch, lag_messages=None, now_s=time.time())
    elapsed = time.perf_counter() - began
    archive.close()
    return len(ordered) / elapsed


def _bridge_rate(settings: Settings, url: str, total: int, log: Path, batch_size: int) -> float:
    """Readings/s of a real bridge process draining the topic, first commit to last."""
    env = child_env(settings)
    exe = str(Path(sys.executable).with_name("logistream"))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [exe, "bridge", "--batch-size", str(batch_size)], env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        first_t: float | None = None
        first_n = 0
        done_t = 0.0
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    row = conn.execute(
                        "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets"
                    ).fetchone()
                except psycopg.errors.UndefinedTable:
                    row = (0,)
                stored = int(row[0]) if row else 0
                now = time.perf_counter()
                if stored and first_t is None:
                    first_t, first_n = now, stored
                if stored >= total:
                    done_t = now
                    break
                time.sleep(0.05)
        proc.terminate()
        proc.wait(60)
    if first_t is None or not done_t:
        raise SystemExit(f"the bridge did not finish; see {log}")
    return (total - first_n) / max(done_t - first_t, 1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="a few-second run (20,000 readings)")
    parser.add_argument("--readings", type=int, default=400_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    total = 20_000 if args.smoke else args.readings
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed={seed} readings={total} batch_size={args.batch_size}")

    kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP")
    admin_url = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    if not (kafka and admin_url):
        endpoints = resolve_endpoints()
        kafka, admin_url = endpoints.kafka_bootstrap, endpoints.database_url
    suffix = uuid.uuid4().hex[:8]
    databases = {"bridge": f"bench_bridge_{suffix}", "raw": f"bench_raw_{suffix}"}
    settings = Settings(
        kafka_bootstrap=kafka, database_url=_with_db(admin_url, databases["bridge"]),
        topic_telemetry=f"bench_telemetry.{suffix}", topic_alerts=f"bench_alerts.{suffix}",
        topic_dlq=f"bench_telemetry.{suffix}.dlq", bridge_group=f"bench.{suffix}",
        bridge_db_password=BRIDGE_PW, reader_db_password=READER_PW,
    )  # fmt: skip
    topics = [settings.topic_telemetry, settings.topic_alerts, settings.topic_dlq]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in databases.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        ensure_topics(settings, topics, partitions=args.partitions)
        raw_url = _with_db(admin_url, databases["raw"])
        for url in (settings.database_url, raw_url):
            assert url
            migrate(settings, url)
        began = time.perf_counter()
        consumed = _fill(settings, _readings(total, seed))
        print(f"topic pre-filled: {total} readings in {time.perf_counter() - began:.1f} s")

        raw = _raw_limit(settings, raw_url, consumed, args.batch_size)
        print(f"raw limit (COPY + de-dup + offsets, no Kafka): {raw:,.0f} readings/s")
        log = Path(f"/tmp/bench_bridge_{suffix}.log")
        assert settings.database_url
        bridge = _bridge_rate(settings, settings.database_url, total, log, args.batch_size)
        print(f"bridge (one process, Kafka -> PostgreSQL):    {bridge:,.0f} readings/s")
        ratio = bridge / raw
        print(f"ratio bridge / raw limit: {ratio:.0%} (goal >= 70%, and >= 100,000 readings/s)")
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM readings").fetchone()
        assert row == (total, total), f"archive holds {row}, expected {total} once each"
    finally:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": kafka}).delete_topics(topics, operation_timeout=30)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in databases.values():
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


if __name__ == "__main__":
    main()
