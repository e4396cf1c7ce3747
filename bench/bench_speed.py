"""Benchmark: speed-layer alert latency and throughput, against a baseline from the same run.

Latency is measured from a reading's Kafka record timestamp (its produce time) to the moment its
alert change is visible in Redis (the views pipeline returned), with open-loop load at 1,000 and
10,000 readings/s and HdrHistogram percentiles. Throughput is one processor draining a
pre-filled topic, from its first batch to its last.

Baseline, same servers, same readings: a bare consumer that decodes each reading and writes the
truck's latest reading to Redis in one pipeline per batch, no rules, state or alert publishing.
Its latency is taken for the same readings (those that make an alert in the speed layer).
Readings produced in the first second of a phase (connections, group join) are not counted.

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_REDIS_URL when set, else the local
stack. Fresh topics and groups per phase (deleted after); Redis keys of the run's trucks are
deleted after (no FLUSHDB: the database may be shared).

    python bench/bench_speed.py            # 10 s per rate, 300,000 readings for throughput
    python bench/bench_speed.py --smoke    # a few seconds
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

# Run as a script (``python bench/bench_speed.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.speed_harness import run_until_taken, wait_joined
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.kafka import ensure_topics, make_consumer, make_producer

PREFIX = "BENCH"
HOT_EVERY = 50  # one hot reading (opens an alert) and one cool (resolves) per 50 per truck
WARMUP_S = 1.0  # readings produced in the first second (connections, group join) not counted


def _settings(args: argparse.Namespace, suffix: str) -> Settings:
    env = os.environ
    base = Settings()
    ends = resolve_endpoints(base)
    redis_url = env.get("LOGISTREAM_TEST_REDIS_URL", ends.redis_url)
    redis_url = redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
    return base.model_copy(
        update={
            "kafka_bootstrap": env.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP", ends.kafka_bootstrap),
            "redis_url": redis_url,
            "topic_telemetry": f"bench_telemetry.{suffix}",
            "topic_alerts": f"bench_alerts.{suffix}",
            "topic_commands": f"bench_commands.{suffix}",
            "speed_group": f"bench-speed.{suffix}",
            "partitions": args.partitions,
        }
    )


def reading_bytes(i: int, trucks: int, start: float, run: str) -> tuple[bytes, bytes, bool]:
    """The i-th reading: round-robin over trucks, one second of event time per round."""
    n, k = divmod(i, trucks)
    truck = f"{PREFIX}-{run}-{k:04d}"
    hot = (n + k) % HOT_EVERY == 0  # staggered: alerts spread evenly over the run
    body = (
        f'{{"truck_id":"{truck}","temp":{9.0 if hot else 5.0},"timestamp":{start + n:.1f},'
        f'"fuel":60.0,"speed_kmh":60.0,"lat":-1.5,"lon":37.0,"door_open":false,'
        f'"trip_id":"{truck}-T","event_id":"{uuid.UUID(int=(i << 20) | 0xBE4C)}"}}'
    )  # devices (and the simulator) send their event_id
    return truck.encode(), body.encode(), hot


# ---- the processes under test (spawned: their own interpreter, as in production) -------------


def _speed_child(settings_json: str, total: int, queue: Any) -> None:
    from logistream.speed.delivery import Batch
    from logistream.speed.stream_processor import SpeedProcessor

    settings = Settings.model_validate_json(settings_json)
    hist = HdrHistogram(1, 60_000_000, 3)  # microseconds
    times: dict[str, float] = {}

    class Timed(SpeedProcessor):
        def _write_views(self, batch: Batch) -> None:
            super()._write_views(batch)
            now = time.time()
            times.setdefault("first", now)
            times["last"] = now
            for record_ts in batch.change_record_ts:
                if record_ts >= times["first"] + WARMUP_S:
                    hist.record_value(max(1, int((now - record_ts) * 1e6)))

    proc = Timed(settings, instance="bench", checkpoint_interval_s=5.0)
    run_until_taken(proc, total)
    queue.put({"hist": hist.encode(), "count": proc.progress.processed, **times})


def _group_child(
    settings_json: str, instance: str, total: int, taken: Any, slot: int, queue: Any
) -> None:
    """One of several processors of one group draining a pre-filled topic: each counts what it
    takes into ``taken[slot]`` and stops when the group has taken ``total``; it reports its
    (wall time, readings taken) samples, so the run is timed once every process has started."""
    import threading

    from logistream.speed.stream_processor import SpeedProcessor

    settings = Settings.model_validate_json(settings_json)
    proc = SpeedProcessor(settings, instance=instance, checkpoint_interval_s=5.0)
    samples: list[tuple[float, int]] = []

    def watch() -> None:
        while True:
            p = proc.progress
            done = p.processed + p.late + p.skipped
            taken[slot] = done
            if done:
                samples.append((time.time(), done))
            if sum(taken[:]) >= total:
                proc.stop()
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    proc.run()
    queue.put(samples)


def _baseline_child(settings_json: str, total: int, queue: Any) -> None:
    import redis

    from logistream.events import decode_reading, encode

    settings = Settings.model_validate_json(settings_json)
    hist = HdrHistogram(1, 60_000_000, 3)
    client = redis.Redis.from_url(settings.redis_url or "")
    consumer = make_consumer(settings, settings.speed_group + ".baseline")
    consumer.subscribe([settings.topic_telemetry])
    seen = 0
    times: dict[str, float] = {}
    hot_trucks: set[str] = set()
    while seen < total:
        first = consumer.poll(0.1)
        if first is None:
            continue
        msgs = [first, *consumer.consume(1999, timeout=0)]
        latest: dict[str, bytes] = {}
        marked: list[float] = []
        for msg in msgs:
            if msg.error():
                continue
            seen += 1
            r = decode_reading(msg.value())
            latest[r.truck_id] = encode(r)
            # The readings the speed layer alerts on: a hot one (open) and the next (resolve).
            if r.temp > 7.0 or r.truck_id in hot_trucks:
                marked.append(msg.timestamp()[1] / 1000.0)
                if r.temp > 7.0:
                    hot_trucks.add(r.truck_id)
                else:
                    hot_trucks.discard(r.truck_id)
        pipe = client.pipeline(transaction=False)
        for truck, raw in latest.items():
            pipe.hset(f"ls:truck:{truck}", mapping={"reading": raw})
        pipe.execute()
        now = time.time()
        times.setdefault("first", now)
        times["last"] = now
        for record_ts in marked:
            if record_ts >= times["first"] + WARMUP_S:
                hist.record_value(max(1, int((now - record_ts) * 1e6)))
    consumer.close()
    queue.put({"hist": hist.encode(), "count": seen, **times})


# ---- driver ----------------------------------------------------------------------------------


def _start(kind: str, settings: Settings, total: int) -> tuple[Any, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    target = _speed_child if kind == "speed" else _baseline_child
    proc = ctx.Process(target=target, args=(settings.model_dump_json(), total, queue))
    proc.start()
    return proc, queue


def _produce(settings: Settings, total: int, trucks: int, rate: float | None, run: str) -> None:
    """Open loop: reading i is sent at start + i / rate whatever the consumer does."""
    producer = make_producer(settings, **{"linger.ms": 1})
    producer.list_topics(settings.topic_telemetry, timeout=30)  # connect before the clock runs
    start_ev = time.time() - 3 * 3600
    t0 = time.perf_counter()
    for i in range(total):
        if rate is not None:
            due = t0 + i / rate
            while (ahead := due - time.perf_counter()) > 0:
                time.sleep(min(ahead, 0.001))
        key, value, _ = reading_bytes(i, trucks, start_ev, run)
        while True:
            try:
                producer.produce(settings.topic_telemetry, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def _names(members: Any) -> list[str]:
    """Sorted-set members as text (the client returns bytes)."""
    return [m.decode() for m in members]


def _cleanup(settings: Settings, run: str) -> None:
    import redis
    from confluent_kafka.admin import AdminClient

    from logistream.speed.checkpoint import checkpoint_topic

    client = redis.Redis.from_url(settings.redis_url or "")
    for pattern in (f"ls:truck:{PREFIX}-{run}-*", f"ls:temp:{PREFIX}-{run}-*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    members = [m for m in _names(client.zrange("ls:trucks", 0, -1)) if m.startswith(PREFIX)]
    if members:
        client.zrem("ls:trucks", *members)
        client.zrem("ls:positions", *members)
    ids = _names(client.zrange("ls:alerts:recent", 0, -1))
    mine = []
    for aid in ids:
        raw = client.get(f"ls:alert:{aid}")
        if raw is None or f'"truck_id":"{PREFIX}-{run}-'.encode() in raw:
            mine.append(aid)
    for i in range(0, len(mine), 500):
        chunk = mine[i : i + 500]
        client.delete(*[f"ls:alert:{a}" for a in chunk])
        client.zrem("ls:alerts:recent", *chunk)
        client.zrem("ls:alerts:open", *chunk)
    client.hdel("ls:speed:heartbeats", "bench")
    assert settings.kafka_bootstrap
    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
        [
            settings.topic_telemetry,
            settings.topic_alerts,
            settings.topic_commands,
            checkpoint_topic(settings),
        ],
        operation_timeout=30,
    )


# ---- what runs beside the processor under test, as in production ----------------------------


class Beside:
    """A real `logistream bridge` archiving the measured topic, and a simulator producing a
    500-truck fleet at 1 Hz to a side topic, so the processor competes for the two cores."""

    def __init__(self, args: argparse.Namespace) -> None:
        import psycopg

        self.run = uuid.uuid4().hex[:6]
        owner = os.environ.get("LOGISTREAM_TEST_DATABASE_URL") or resolve_endpoints().database_url
        self.database = f"bench_speed_{self.run}"
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.owner = owner
        self.base = _settings(args, f"beside.{self.run}").model_copy(
            update={
                "database_url": owner.rsplit("/", 1)[0] + f"/{self.database}",
                "database_name": self.database,
                "bridge_db_password": "bench-speed-bridge-pw",
                "reader_db_password": "bench-speed-reader-pw",
            }
        )
        ensure_topics(self.base, [self.base.topic_telemetry])
        self.simulator = self._spawn(
            self.base,
            "simulate",
            "--trucks",
            "500",
            "--speedup",
            "1",
            "--rate",
            "1",
            "--scenario",
            "none",
        )
        self.bridge: subprocess.Popen[bytes] | None = None

    def _spawn(self, settings: Settings, *argv: str) -> subprocess.Popen[bytes]:
        env = child_env(settings)
        return subprocess.Popen(
            [sys.executable, "-m", "logistream", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start_bridge(self, measured: Settings) -> None:
        self.bridge = self._spawn(
            self.base.model_copy(
                update={
                    "topic_telemetry": measured.topic_telemetry,
                    "topic_alerts": measured.topic_alerts,
                    "bridge_group": f"bench-bridge.{measured.topic_telemetry}",
                }
            ),
            "bridge",
        )

    def stop_bridge(self) -> None:
        if self.bridge is not None:
            self.bridge.send_signal(signal.SIGTERM)
            self.bridge.wait(60)
            self.bridge = None

    def close(self) -> None:
        import psycopg

        self.stop_bridge()
        self.simulator.send_signal(signal.SIGTERM)
        self.simulator.wait(60)
        with psycopg.connect(self.owner, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _phase(
    args: argparse.Namespace,
    kind: str,
    total: int,
    rate: float | None,
    beside: Beside | None = None,
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    settings = _settings(args, f"{kind}.{run}")
    ensure_topics(
        settings, [settings.topic_telemetry, settings.topic_alerts, settings.topic_commands]
    )
    if beside is not None:
        beside.start_bridge(settings)
    try:
        if rate is None:  # throughput: fill first, then drain
            _produce(settings, total, args.trucks, None, run)
            proc, queue = _start(kind, settings, total)
        else:
            proc, queue = _start(kind, settings, total)
            if kind == "speed":
                wait_joined(settings, "bench", timeout=60.0)
            else:
                time.sleep(6)  # group join of the bare consumer
            _produce(settings, total, args.trucks, rate, run)
        result = queue.get(timeout=max(120.0, total / 1000))
        proc.join(60)
    finally:
        if beside is not None:
            beside.stop_bridge()
        _cleanup(settings, run)
    hist = HdrHistogram.decode(result["hist"])
    span = max(1e-9, result["last"] - result["first"])
    return {
        "p50_ms": hist.get_value_at_percentile(50) / 1000,
        "p99_ms": hist.get_value_at_percentile(99) / 1000,
        "max_ms": hist.get_max_value() / 1000,
        "samples": hist.get_total_count(),
        "rate": result["count"] / span,
    }


def _processes_phase(args: argparse.Namespace, processes: int, total: int) -> float:
    """Readings/s of ``processes`` processors in one group draining ``total`` pre-filled
    readings: from the moment the last of them took its first reading to the end."""
    run = uuid.uuid4().hex[:6]
    settings = _settings(args, f"group{processes}.{run}")
    ensure_topics(
        settings, [settings.topic_telemetry, settings.topic_alerts, settings.topic_commands]
    )
    try:
        _produce(settings, total, args.trucks, None, run)
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        taken = ctx.Array("q", processes)
        procs = [
            ctx.Process(
                target=_group_child,
                args=(settings.model_dump_json(), f"bench-{i}", total, taken, i, queue),
            )
            for i in range(processes)
        ]
        for proc in procs:
            proc.start()
        series = [queue.get(timeout=max(300.0, total / 1000)) for _ in procs]
        for proc in procs:
            proc.join(60)
    finally:
        _cleanup(settings, run)
    started = max(s[0][0] for s in series if s)
    ended = max(s[-1][0] for s in series if s)

    def taken_at(samples: list[tuple[float, int]], moment: float) -> int:
        before = [n for t, n in samples if t <= moment]
        return before[-1] if before else 0

    counted = sum(s[-1][1] - taken_at(s, started) for s in series if s)
    return float(counted / max(1e-9, ended - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds only")
    parser.add_argument("--trucks", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0, help="per latency rate")
    parser.add_argument("--throughput-readings", type=int, default=300_000)
    parser.add_argument("--redis-db", type=int, default=0)
    parser.add_argument(
        "--processes", type=int, default=2, help="processors in one group for the scaling run"
    )
    parser.add_argument(
        "--alone",
        action="store_true",
        help="no bridge and simulator beside the processor (the default with --smoke)",
    )
    args = parser.parse_args()
    seconds = 3.0 if args.smoke else args.seconds
    drain = 30_000 if args.smoke else args.throughput_readings
    rows = []
    beside = None if (args.alone or args.smoke) else Beside(args)
    try:
        for rate in (1000, 10_000):
            total = int(rate * seconds)
            base = _phase(args, "baseline", total, rate, beside)
            speed = _phase(args, "speed", total, rate, beside)
            rows.append((f"latency @ {rate}/s", base, speed))
    finally:
        if beside is not None:
            beside.close()
    print(
        "latency phases ran "
        + ("alone" if beside is None else "beside a bridge and a 500-truck simulator")
    )
    base = _phase(args, "baseline", drain, None)
    speed = _phase(args, "speed", drain, None)
    rows.append(("throughput", base, speed))
    # How one machine's throughput scales with processes in the group (issue 19 asks): the
    # same drain by 1 and by --processes processors, all on the same cores as the servers.
    scaling = [(n, _processes_phase(args, n, drain)) for n in sorted({1, args.processes})]

    print(f"\nspeed layer vs baseline (bare decode + Redis pipeline), {args.trucks} trucks")
    print(f"{'':22} {'':9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'n':>8} {'rate/s':>10}")
    for name, b, s in rows:
        for label, r in (("baseline", b), ("speed", s)):
            print(
                f"{name:22} {label:9} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} {r['max_ms']:9.2f} "
                f"{r['samples']:8d} {r['rate']:10.0f}"
            )
        if name == "throughput":
            print(f"{name:22} {'ratio':9} rate speed/baseline = {s['rate'] / b['rate']:.2f}")
        else:
            print(
                f"{name:22} {'ratio':9} p50 x{s['p50_ms'] / max(b['p50_ms'], 1e-3):.2f}  "
                f"p99 x{s['p99_ms'] / max(b['p99_ms'], 1e-3):.2f}  "
                f"max x{s['max_ms'] / max(b['max_ms'], 1e-3):.2f}"
            )
    one = scaling[0][1]
    for count, per_s in scaling:
        print(
            f"throughput, {count} process{'es' if count > 1 else ''} in one group: "
            f"{per_s:,.0f} readings/s (x{per_s / one:.2f} of one; "
            f"{per_s / base['rate']:.2f} of the bare consumer)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
