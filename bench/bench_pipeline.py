"""Benchmark: the highest rate the whole pipeline sustains on two cores with bounded lag.

Real processes: `logistream simulate` (the fleet simulator, 1 reading per truck per second, so
trucks = readings/s) -> Kafka -> `logistream speed` (rules, Redis views) and `logistream bridge`
(PostgreSQL archive), all pinned to two cores (the servers share them). The rate steps up;
in each step the speed layer's lag (its Redis heartbeat: now minus the produce time of the last
record handled, while behind) and the bridge's lag (its PostgreSQL heartbeat: commit time minus
the oldest record's produce time in the batch) are sampled every second. A step passes when the
simulator delivered at least 90% of the asked rate and both lags stayed under the bound
(default 5 s) over the step's second half and at its end. The figure is the last rate that
passed.

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL /
LOGISTREAM_TEST_REDIS_URL when set, else the local stack. A fresh database and topics are made
for the run and dropped after; a random Redis database (1-255) is flushed before and after.

    python bench/bench_pipeline.py            # 1,000 readings/s doubling, 20 s per step
    python bench/bench_pipeline.py --start-rate 4000 --step 4000   # what `make bench` runs
    python bench/bench_pipeline.py --speed-processes 2   # two speed processors in one group
    python bench/bench_pipeline.py --smoke    # two short steps
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from confluent_kafka import Consumer, TopicPartition
from psycopg import sql

from logistream import live_views
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.kafka import ensure_topics, pipeline_topics
from logistream.schema.migrate import migrate

LOGISTREAM = str(Path(sys.executable).parent / "logistream")
# Roles are cluster-wide: the test suite's passwords, so a test run on the same servers is
# not broken by this one.
BRIDGE_PW = "bridge-test-pw"
READER_PW = "reader-test-pw"
CORES = 2


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _two_cores() -> set[int]:
    available = sorted(os.sched_getaffinity(0))
    return set(available[:CORES])


@dataclass
class Step:
    rate: int
    delivered: float = 0.0
    speed_lag_s: float = 0.0
    bridge_lag_s: float = 0.0
    passed: bool = False


class Pipeline:
    """speed + bridge processes, pinned; stopped with SIGTERM (their clean stop)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen([LOGISTREAM, *args], env=self.env, stdout=out, stderr=out)
        os.sched_setaffinity(proc.pid, _two_cores())
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _end_offset_sum(consumer: Consumer, topic: str, partitions: int) -> int:
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(partitions)
    )


def _bridge_lag(conn: psycopg.Connection[tuple[object, ...]], group: str) -> float | None:
    row = conn.execute(
        "SELECT max(lag_seconds), min(extract(epoch FROM now() - last_commit_at)) "
        "FROM bridge_heartbeat WHERE consumer_group = %s",
        [group],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return float(str(row[0]))


def _backlog(conn: psycopg.Connection[tuple[object, ...]], settings: Settings, end: int) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets "
        "WHERE consumer_group = %s AND topic = %s",
        [settings.bridge_group, settings.topic_telemetry],
    ).fetchone()
    return end - int(str(row[0])) if row else end


def _run_step(
    pipeline: Pipeline,
    settings: Settings,
    step: Step,
    seconds: float,
    start_ts: float,
    bound_s: float,
    partitions: int,
) -> None:
    store = redis.Redis.from_url(str(settings.redis_url))
    probe = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"probe-{uuid.uuid4()}"}
    )
    assert settings.database_url
    conn = psycopg.connect(settings.database_url, autocommit=True)
    try:
        before = _end_offset_sum(probe, settings.topic_telemetry, partitions)
        sim = pipeline.start(
            f"simulate-{step.rate}", "simulate", "--trucks", str(step.rate), "--rate", "1",
            "--speedup", "1", "--duration", str(seconds), "--scenario", "none",
            "--start", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ts)),
        )  # fmt: skip
        began = time.monotonic()
        speed_lags: list[float] = []
        bridge_lags: list[float] = []
        # Delivered rate: from the first sample that saw new records to the last, so the
        # simulator's start-up (imports, connection) is not counted against it.
        first: tuple[float, int] | None = None
        last: tuple[float, int] | None = None
        while sim.poll() is None and time.monotonic() - began < seconds * 3 + 30:
            time.sleep(1.0)
            now = time.monotonic()
            total = _end_offset_sum(probe, settings.topic_telemetry, partitions)
            if total > before:
                first = first or (now, total)
                last = (now, total)
            elapsed = now - (first[0] if first else began)
            beats = live_views.read_heartbeats(store)
            # A heartbeat older than a few seconds means the processor itself is stuck; with
            # several processors, the one furthest behind.
            speed = max((b.lag_s + max(0.0, b.age_s - 2.0) for b in beats), default=seconds)
            bridge = _bridge_lag(conn, settings.bridge_group)
            if elapsed >= seconds / 2:
                speed_lags.append(speed)
                bridge_lags.append(bridge if bridge is not None else seconds)
        if sim.poll() is None:
            sim.kill()
        produced = _end_offset_sum(probe, settings.topic_telemetry, partitions) - before
        if first and last and last[0] > first[0]:
            step.delivered = (last[1] - first[1]) / (last[0] - first[0])
        else:
            step.delivered = produced / seconds
        # The end: how far behind each layer is right after the last reading was produced.
        end_total = before + produced
        speed_end = max((b.lag_s for b in live_views.read_heartbeats(store)), default=seconds)
        bridge_end = _backlog(conn, settings, end_total) / max(step.delivered, 1.0)
        speed_lags.append(speed_end)
        bridge_lags.append(bridge_end)
        step.speed_lag_s = max(speed_lags)
        step.bridge_lag_s = max(bridge_lags)
        step.passed = (
            step.delivered >= 0.9 * step.rate
            and step.speed_lag_s <= bound_s
            and step.bridge_lag_s <= bound_s
        )
    finally:
        conn.close()
        probe.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--smoke", action="store_true", help="two short steps")
    parser.add_argument(
        "--speed-processes", type=int, default=1, help="speed processors in the one group"
    )
    parser.add_argument("--start-rate", type=int, default=1000, help="readings/s of step one")
    parser.add_argument("--factor", type=float, default=2.0, help="rate multiplier per step")
    parser.add_argument(
        "--step", type=int, default=0, help="readings/s added per step (instead of --factor)"
    )
    parser.add_argument("--max-rate", type=int, default=64_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="per step")
    parser.add_argument("--max-lag-s", type=float, default=5.0, help="the lag bound")
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    if args.smoke:
        args.start_rate, args.max_rate, args.seconds = 200, 400, 5.0
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)

    env_kafka = os.environ.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP")
    env_db = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    env_redis = os.environ.get("LOGISTREAM_TEST_REDIS_URL")
    if not (env_kafka and env_db and env_redis):
        ends = resolve_endpoints()
        env_kafka, env_db, env_redis = ends.kafka_bootstrap, ends.database_url, ends.redis_url
    suffix = uuid.uuid4().hex[:8]
    database = f"bench_pipe_{suffix}"
    redis_db = rng.randrange(1, 256)
    work = Path(tempfile.mkdtemp(prefix="bench_pipe_"))
    settings = Settings(
        home=work / "home",
        kafka_bootstrap=env_kafka,
        database_url=_with_path(env_db, f"/{database}"),
        redis_url=_with_path(env_redis, f"/{redis_db}"),
        database_name=database,
        topic_telemetry=f"bench_pipe_telemetry.{suffix}",
        topic_alerts=f"bench_pipe_alerts.{suffix}",
        topic_commands=f"bench_pipe_commands.{suffix}",
        topic_dlq=f"bench_pipe_telemetry.{suffix}.dlq",
        speed_group=f"bench-pipe-speed.{suffix}",
        bridge_group=f"bench-pipe-bridge.{suffix}",
        notify_group=f"bench-pipe-notify.{suffix}",
        partitions=args.partitions,
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
    )
    cores = sorted(_two_cores())
    print(f"seed={seed} cores={cores} (of {os.cpu_count()}, shared with the servers) "
          f"partitions={args.partitions} speed processes={args.speed_processes} "
          f"step={args.seconds:.0f} s "
          f"bound={args.max_lag_s:.0f} s")  # fmt: skip
    with psycopg.connect(env_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    flusher = redis.Redis.from_url(str(settings.redis_url))
    flusher.flushdb()
    env = child_env(settings)
    env["LOGISTREAM_LOG_LEVEL"] = "WARNING"
    pipeline = Pipeline(env, work)
    steps: list[Step] = []
    try:
        ensure_topics(settings, pipeline_topics(settings), partitions=args.partitions)
        assert settings.database_url
        migrate(settings, settings.database_url)
        for n in range(args.speed_processes):  # one consumer group: partitions shared
            pipeline.start(f"speed-{n}", "speed")
        pipeline.start("bridge", "bridge")
        time.sleep(3.0)  # group joins; the first step's warm-up is counted against it anyway
        # Event time runs an hour behind the wall clock and continues from step to step.
        start_ts = time.time() - 3600
        rate = args.start_rate
        print(f"{'rate/s':>8} {'delivered/s':>12} {'speed lag s':>12} {'bridge lag s':>13}  result")
        while rate <= args.max_rate:
            step = Step(rate)
            _run_step(pipeline, settings, step, args.seconds, start_ts, args.max_lag_s,
                      args.partitions)  # fmt: skip
            start_ts += args.seconds
            steps.append(step)
            print(f"{step.rate:>8,} {step.delivered:>12,.0f} {step.speed_lag_s:>12.2f} "
                  f"{step.bridge_lag_s:>13.2f}  {'bounded' if step.passed else 'NOT bounded'}",
                  flush=True)  # fmt: skip
            if not step.passed:
                break
            rate = rate + args.step if args.step else int(rate * args.factor)
    finally:
        pipeline.stop()
        flusher.flushdb()
        flusher.close()
        from confluent_kafka.admin import AdminClient

        checkpoint = f"{settings.topic_telemetry}.speed-checkpoint"
        AdminClient({"bootstrap.servers": env_kafka}).delete_topics(
            [*pipeline_topics(settings), checkpoint], operation_timeout=30
        )
        with psycopg.connect(env_db, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    passed = [s.rate for s in steps if s.passed]
    best = max(passed) if passed else 0
    ceiling = "" if len(passed) < len(steps) else f" (the top step, {args.max_rate:,}/s, passed)"
    print(f"highest rate with bounded lag (<= {args.max_lag_s:.0f} s), whole pipeline on "
          f"{len(cores)} cores: {best:,} readings/s{ceiling}")  # fmt: skip
    if passed:
        median_lag = statistics.median(
            max(s.speed_lag_s, s.bridge_lag_s) for s in steps if s.passed
        )
        print(f"median worst lag over the passing steps: {median_lag:.2f} s")


if __name__ == "__main__":
    main()
