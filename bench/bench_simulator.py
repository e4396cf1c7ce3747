"""Simulator throughput to Kafka, against baselines measured in the same run.

    .venv/bin/python bench/bench_simulator.py [--trucks 50000] [--ticks 4] [--runs 5] [--smoke]

Three measurements, each the median of several runs:

* generate: the fleet simulator plus JSON encoding, no Kafka (the Python ceiling);
* produce-only: pre-encoded readings handed to the same durable producer (the client ceiling);
* to Kafka: the real path (``TruckSensors``: generate, encode, produce, delivery reports), timed
  until every reading is acknowledged (acks=all, idempotent).

Kafka is the one named by LOGISTREAM_KAFKA_BOOTSTRAP (or LOGISTREAM_TEST_KAFKA_BOOTSTRAP, or the
local stack); the benchmark creates its own topic and deletes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from logistream.config import Settings, get_settings
from logistream.events import encode
from logistream.ingest.faults import RawMessage
from logistream.ingest.fleet import build_fleet
from logistream.ingest.simulator import FleetSim
from logistream.ingest.spool import Spool
from logistream.ingest.truck_sensors import make_sensors
from logistream.kafka import ensure_topics, make_producer
from logistream.registry import load_registry
from logistream.registry.scenarios import load_scenario

START = 1_740_970_800.0  # 2025-03-03T06:00+03:00


def _fleet(trucks: int) -> FleetSim:
    registry = load_registry()
    return build_fleet(
        registry, load_scenario("none", registry), trucks=trucks, seed=1, start=START, rate_hz=1.0
    )


def _generate(fleet: FleetSim, ticks: int) -> tuple[int, float]:
    count = 0
    began = time.perf_counter()
    for _, batch in fleet.ticks(float(ticks)):
        for item in batch:
            value = item.value if isinstance(item, RawMessage) else encode(item)
            count += len(value) > 0
    return count, time.perf_counter() - began


def _produce_only(settings: Settings, messages: list[tuple[bytes, bytes]]) -> tuple[int, float]:
    from logistream.ingest.truck_sensors import THROUGHPUT

    acked = 0

    def delivered(error: object, _message: object) -> None:
        nonlocal acked
        acked += error is None

    producer = make_producer(settings, **THROUGHPUT)
    producer.list_topics(settings.topic_telemetry, timeout=10)
    began = time.perf_counter()
    for i, (key, value) in enumerate(messages):
        while True:
            try:
                producer.produce(settings.topic_telemetry, value, key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 2000 == 0:
            producer.poll(0)
    producer.flush(120)
    return acked, time.perf_counter() - began


def _to_kafka(
    settings: Settings, fleet: FleetSim, ticks: int, spool_dir: Path
) -> tuple[int, float]:
    sensors = make_sensors(settings, Spool(spool_dir / uuid.uuid4().hex), log=print)
    if not sensors.wait_ready(10):  # connect before timing
        raise SystemExit(f"Kafka did not answer for {settings.topic_telemetry} within 10 s")
    send = sensors.send
    keys: dict[str, bytes] = {}
    began = time.perf_counter()
    for _, batch in fleet.ticks(float(ticks)):
        for item in batch:
            if isinstance(item, RawMessage):
                send(item.key, item.value)
            else:
                key = keys.get(item.truck_id)
                if key is None:
                    key = keys[item.truck_id] = item.truck_id.encode()
                send(key, encode(item))
        sensors.service()
    stats = sensors.close(120)
    elapsed = time.perf_counter() - began
    if stats.acknowledged != stats.sent or stats.spooled:
        raise SystemExit(f"not everything was acknowledged: {stats.summary()}")
    return stats.acknowledged, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trucks", type=int, default=50_000)
    parser.add_argument("--ticks", type=int, default=4, help="simulated seconds per run (1 Hz)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a few seconds only")
    args = parser.parse_args()
    if args.smoke:
        args.trucks, args.ticks, args.runs = 5_000, 2, 3

    bootstrap = os.environ.get("LOGISTREAM_KAFKA_BOOTSTRAP") or os.environ.get(
        "LOGISTREAM_TEST_KAFKA_BOOTSTRAP"
    )
    base = get_settings()
    settings = base.model_copy(
        update={
            "kafka_bootstrap": bootstrap or base.kafka_bootstrap,
            "topic_telemetry": f"bench_simulator_{uuid.uuid4().hex[:8]}",
        }
    )
    ensure_topics(settings, [settings.topic_telemetry])
    print(
        f"{args.trucks} trucks at 1 Hz, {args.ticks} simulated s per run, {args.runs} runs, "
        f"topic {settings.topic_telemetry} ({settings.partitions} partitions)"
    )
    generate, produce, to_kafka = [], [], []
    try:
        with tempfile.TemporaryDirectory() as spool_dir:
            for run in range(args.runs):
                fleet = _fleet(args.trucks)
                count, seconds = _generate(fleet, args.ticks)
                generate.append(count / seconds)
                fleet = _fleet(args.trucks)
                messages = [
                    (item.truck_id.encode(), encode(item))
                    for item in fleet.emissions(float(args.ticks))
                    if not isinstance(item, RawMessage)
                ]
                count, seconds = _produce_only(settings, messages)
                produce.append(count / seconds)
                fleet = _fleet(args.trucks)
                count, seconds = _to_kafka(settings, fleet, args.ticks, Path(spool_dir))
                to_kafka.append(count / seconds)
                print(
                    f"run {run + 1}: generate {generate[-1]:,.0f}/s, produce-only "
                    f"{produce[-1]:,.0f}/s, to Kafka {to_kafka[-1]:,.0f}/s ({count} acknowledged)"
                )
    finally:
        from confluent_kafka.admin import AdminClient

        from logistream.config import resolve_endpoints

        admin = AdminClient({"bootstrap.servers": resolve_endpoints(settings).kafka_bootstrap})
        admin.delete_topics([settings.topic_telemetry], operation_timeout=30)

    g, p, k = (statistics.median(x) for x in (generate, produce, to_kafka))
    print()
    print(f"generate (baseline, no Kafka):     {g:>10,.0f} readings/s")
    print(f"produce-only (client ceiling):     {p:>10,.0f} readings/s")
    print(f"to Kafka, acknowledged (median):   {k:>10,.0f} readings/s")
    print(f"ratio to Kafka / generate:         {k / g:>10.2f}")
    print(f"goal 50,000 readings/s:            {'met' if k >= 50_000 else 'NOT met'}")
    # One process, one Python thread does both: the time per reading adds up.
    per_gen, per_prod, per_all = 1e6 / g, 1e6 / p, 1e6 / k
    print(
        f"per reading: generate {per_gen:.1f} µs + produce {per_prod:.1f} µs "
        f"= {per_gen + per_prod:.1f} µs predicted, {per_all:.1f} µs measured"
    )
    bound = (
        "the simulator's Python (physics + encoding)"
        if per_gen > per_prod
        else ("the producer calls (librdkafka handoff and delivery reports)")
    )
    print(f"bound: the single Python thread; the larger share is {bound}")


if __name__ == "__main__":
    main()
