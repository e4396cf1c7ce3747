"""Benchmark: shipment stage-detection delay in the speed layer, against the alert latency of
the same run.

Delay: from the Kafka produce time of the GPS reading that completes a stop's dwell (the reading
inside a stop's fence, or outside the stop just left, that makes the stage change) to the moment
its stage event is visible in Redis (the processor's views pipeline returned: the stage event
and the shipment's live state are written in the same pipeline as the truck's views). Baseline,
same run, same processor: a reading that opens an alert (``temp_high``) to its alert in Redis.
Goal: stage-detection p99 < 100 ms at 1,000 readings/s.

Load, open loop at ``--rate`` readings/s (default 1,000) for ``--seconds`` per run, on a real
stack with the real speed processor (``SpeedProcessor``, spawned in its own interpreter; only
its ``_write_views`` is wrapped to note when each batch became visible):
- ``--shipments`` trucks (default 100) each carry an active shipment (the example
  ``vaccines_kisumu.toml``: an origin, two drops, a destination), published on the run's own
  compacted shipments topic before the processor starts. Each drives the stops in 21 readings,
  60 s of event time apart: 3 at the origin (at_origin, the 120 s dwell completed by the third),
  3 just outside (in_transit), 3 at each drop and 3 between, 3 at the destination: 7 stage
  events per shipment. The trucks are added to a copy of the registry (its fleet.toml) given to
  the processor, so the real registry and rules (the dwell included) are used.
- the rest are readings of 500 trucks without shipments, one in 20 per truck hot (9 °C, which
  opens ``temp_high``; the next one resolves it).
Event time runs at one pace for every truck (60 s per shipment step), so the fleet's clock, and
so the sensor_offline sweep, sees no truck fall behind. Readings produced in the first second
(connections, group join) are not counted. Several runs, each with fresh topics, group and
processor; p50/p99 pooled over the runs and per run (HdrHistogram).

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_REDIS_URL when set, else the local
stack. Fresh topics per run (deleted after); the run's Redis keys are deleted after (no FLUSHDB:
the database may be shared).

    python bench/bench_stage_detection.py            # 5 runs of 10 s
    python bench/bench_stage_detection.py --smoke    # 1 run of 3 s, 20 shipments
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

# Run as a script (``python bench/bench_stage_detection.py``): the repository root holds `bench`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logistream.registry
import logistream.shipments
from bench.speed_harness import run_until_taken, wait_joined
from logistream.config import Settings, resolve_endpoints
from logistream.kafka import ensure_topics, make_producer

PREFIX = "BSTG"
WARMUP_S = 1.0
"""Readings produced in the first second (connections, group join) are not counted."""
STEP_EV_S = 60.0
"""Event time between two readings of a shipment truck (the dwell is 120 s: 3 readings)."""
FILLER_TRUCKS = 500
HOT_EVERY = 20
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
REGISTRY_DATA = Path(logistream.registry.__file__).parent / "data"

# Where a shipment truck is at each step, and the stage its last reading of a block completes.
ORIGIN = (-1.2864, 36.8172)
KISUMU = (-0.0917, 34.7680)
KAKAMEGA = (0.2827, 34.7519)
BUNGOMA = (0.5635, 34.5606)  # the centre of the destination's polygon
LEFT_ORIGIN = (-1.2700, 36.7600)  # about 6 km out: outside the 300 m fence
LEFT_KISUMU = (0.1000, 34.7600)
LEFT_KAKAMEGA = (0.4200, 34.6500)
PLAN = [ORIGIN, LEFT_ORIGIN, KISUMU, LEFT_KISUMU, KAKAMEGA, LEFT_KAKAMEGA, BUNGOMA]
PER_PLACE = 3
STEPS = len(PLAN) * PER_PLACE
EXPECTED = ["at_origin", "in_transit", "at_stop", "in_transit", "at_stop", "in_transit",
            "at_destination"]  # fmt: skip
"""The stage each place's third reading completes (the stop index aside)."""


@dataclass(frozen=True, slots=True)
class Planned:
    due: float
    """Seconds after the run's start at which it is produced."""
    key: bytes
    value: bytes
    event_id: str
    shipment: bool
    hot: bool


def _settings(args: argparse.Namespace, run: str, registry_dir: Path) -> Settings:
    env = os.environ
    base = Settings()
    ends = resolve_endpoints(base)
    redis_url = env.get("LOGISTREAM_TEST_REDIS_URL", ends.redis_url)
    redis_url = redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
    return base.model_copy(
        update={
            "kafka_bootstrap": env.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP", ends.kafka_bootstrap),
            "redis_url": redis_url,
            "topic_telemetry": f"bench_stage_telemetry.{run}",
            "topic_alerts": f"bench_stage_alerts.{run}",
            "topic_commands": f"bench_stage_commands.{run}",
            "topic_shipments": f"bench_stage_shipments.{run}",
            "topic_shipment_events": f"bench_stage_events.{run}",
            "speed_group": f"bench-stage.{run}",
            "partitions": args.partitions,
            "registry_dir": registry_dir,
        }
    )


def shipment_truck(run: str, k: int) -> str:
    return f"{PREFIX}-{run}-S{k:03d}"


def _registry_copy(run: str, trucks: int, into: Path) -> Path:
    """The registry with the run's shipment trucks added to its fleet (no device: one probe)."""
    target = into / "registry"
    shutil.copytree(REGISTRY_DATA, target)
    with (target / "fleet.toml").open("a", encoding="utf-8") as fleet:
        for k in range(trucks):
            fleet.write(
                f'\n[[truck]]\nid = "{shipment_truck(run, k)}"\ndriver = "DRV-B{k:03d}"\n'
                'route = "nairobi_kisumu"\ncargo = "vaccines"\ntank_litres = 350\n'
                "departure_offset_min = 0\n"
            )
    return target


def _publish_shipments(settings: Settings, run: str, trucks: int) -> list[str]:
    """One active shipment per truck on the run's shipments topic (what the shipments store
    publishes: here straight from the example file, as the bench does not test the store)."""
    from logistream.registry import load_registry
    from logistream.shipments.parse import load_shipment_file, parse_shipment
    from logistream.shipments.store import new_record
    from logistream.shipments.wire import encode_record, to_document

    assert settings.registry_dir is not None
    registry = load_registry(settings.registry_dir)
    document = to_document(load_shipment_file(EXAMPLE, registry))
    document.pop("probes", None)  # the bench trucks have one unnamed probe
    ensure_topics(settings, [settings.topic_shipments])
    producer = make_producer(settings)
    ids = []
    for k in range(trucks):
        shipment_id = f"{PREFIX}-{run}-{k:03d}"
        doc = {**document, "shipment_id": shipment_id, "reference": f"BENCH/{run}/{k}",
               "truck_id": shipment_truck(run, k)}  # fmt: skip
        record = new_record(parse_shipment(doc, registry))
        producer.produce(settings.topic_shipments, encode_record(record), shipment_id)
        ids.append(shipment_id)
    assert producer.flush(60) == 0
    return ids


def _reading(truck: str, ts: float, temp: float, lat: float, lon: float, event_id: str) -> bytes:
    return (
        f'{{"truck_id":"{truck}","temp":{temp},"timestamp":{ts:.3f},"fuel":60.0,'
        f'"speed_kmh":60.0,"lat":{lat},"lon":{lon},"door_open":false,'
        f'"trip_id":"{truck}-T","event_id":"{event_id}"}}'
    ).encode()


def plan(run: str, rate: float, seconds: float, shipments: int, start_ev: float) -> list[Planned]:
    """Every reading of a run, in the order produced. Event time advances at one pace for all
    trucks: ``STEP_EV_S`` per shipment step, a step every ``seconds / STEPS`` of wall time."""
    pace = STEP_EV_S * STEPS / seconds  # event seconds per wall second
    span = WARMUP_S + seconds
    out: list[Planned] = []
    step_wall = seconds / STEPS
    for k in range(shipments):
        truck = shipment_truck(run, k)
        for j in range(STEPS):
            due = WARMUP_S + (j + k / shipments) * step_wall
            lat, lon = PLAN[j // PER_PLACE]
            eid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{truck}/{j}"))
            ts = start_ev + pace * due
            out.append(Planned(due, truck.encode(), _reading(truck, ts, 5.0, lat, lon, eid), eid,
                               True, False))  # fmt: skip
    fillers = max(0, int(rate * span) - len(out))
    for i in range(fillers):
        due = i * span / max(fillers, 1)
        n, k = divmod(i, FILLER_TRUCKS)
        truck = f"{PREFIX}-{run}-F{k:04d}"
        hot = (n + k) % HOT_EVERY == 0  # staggered: alerts spread evenly over the run
        eid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{truck}/{n}"))
        value = _reading(truck, start_ev + pace * due, 9.0 if hot else 5.0, -1.5, 37.0, eid)
        out.append(Planned(due, truck.encode(), value, eid, False, hot))
    out.sort(key=lambda p: p.due)
    return out


# ---- the processor under test (spawned: its own interpreter, as in production) ---------------


def _speed_child(settings_json: str, total: int, queue: Any) -> None:
    from logistream.speed.delivery import Batch
    from logistream.speed.stream_processor import SpeedProcessor

    settings = Settings.model_validate_json(settings_json)
    stages: list[tuple[str, str, float]] = []
    """(reading event id, stage, when visible in Redis)"""
    alerts: list[tuple[float, float]] = []
    """(record timestamp of the reading that opened it, when visible in Redis)"""

    class Timed(SpeedProcessor):
        def _write_views(self, batch: Batch) -> None:
            super()._write_views(batch)
            now = time.time()
            for event in batch.stage_events:
                if event.cause == "geofence" and event.reading_event_id:
                    stages.append((event.reading_event_id, event.stage, now))
            for change, record_ts in zip(batch.changes, batch.change_record_ts, strict=True):
                opened = change.state == "open" and change.changed_at == change.opened_at
                if opened and change.rule == "temp_high":
                    alerts.append((record_ts, now))

    proc = Timed(settings, instance="bench-stage", checkpoint_interval_s=5.0)
    run_until_taken(proc, total)
    queue.put({"stages": stages, "alerts": alerts, "processed": proc.progress.processed})


def _produce(settings: Settings, planned: list[Planned]) -> tuple[float, dict[str, float]]:
    """Open loop: each reading at its due time whatever the consumer does. The run's start
    (wall clock) and the produce time of each shipment reading, by event id."""
    producer = make_producer(settings, **{"linger.ms": 1})
    producer.list_topics(settings.topic_telemetry, timeout=30)  # connect before the clock runs
    sent: dict[str, float] = {}
    wall0 = time.time()
    t0 = time.perf_counter()
    for i, p in enumerate(planned):
        while (ahead := t0 + p.due - time.perf_counter()) > 0:
            time.sleep(min(ahead, 0.001))
        if p.shipment:
            sent[p.event_id] = time.time()
        while True:
            try:
                producer.produce(settings.topic_telemetry, key=p.key, value=p.value)
                break
            except BufferError:
                producer.poll(0.01)
        if i % 200 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    return wall0, sent


def _names(members: Any) -> list[str]:
    """Sorted-set members as text (the client returns bytes)."""
    return [m.decode() for m in members]


def _cleanup(settings: Settings, run: str) -> None:
    import redis
    from confluent_kafka.admin import AdminClient

    from logistream.speed.checkpoint import checkpoint_topic

    client = redis.Redis.from_url(settings.redis_url or "")
    keys = list(client.scan_iter(f"ls:*{PREFIX}-{run}-*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    mark = f"{PREFIX}-{run}-"
    for zset in ("ls:trucks", "ls:positions", "ls:shipments"):
        members = [m for m in _names(client.zrange(zset, 0, -1)) if mark in m]
        if members:
            client.zrem(zset, *members)
    mine = []
    for aid in _names(client.zrange("ls:alerts:recent", 0, -1)):
        raw = client.get(f"ls:alert:{aid}")
        if raw is None or f'"truck_id":"{mark}'.encode() in raw:
            mine.append(aid)
    for i in range(0, len(mine), 500):
        chunk = mine[i : i + 500]
        client.delete(*[f"ls:alert:{a}" for a in chunk])
        client.zrem("ls:alerts:recent", *chunk)
        client.zrem("ls:alerts:open", *chunk)
    client.hdel("ls:speed:heartbeats", "bench-stage")
    assert settings.kafka_bootstrap
    topics = [settings.topic_telemetry, settings.topic_alerts, settings.topic_commands,
              settings.topic_shipments, settings.topic_shipment_events,
              checkpoint_topic(settings)]  # fmt: skip
    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
        topics, operation_timeout=30
    )


def one_run(args: argparse.Namespace, seconds: float, shipments: int) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        settings = _settings(args, run, _registry_copy(run, shipments, Path(tmp)))
        ensure_topics(
            settings,
            [settings.topic_telemetry, settings.topic_alerts, settings.topic_commands,
             settings.topic_shipment_events],
        )  # fmt: skip
        try:
            _publish_shipments(settings, run, shipments)
            planned = plan(run, args.rate, seconds, shipments, time.time() - 6 * 3600)
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            proc = ctx.Process(
                target=_speed_child, args=(settings.model_dump_json(), len(planned), queue)
            )
            proc.start()
            wait_joined(settings, "bench-stage", timeout=90.0)
            wall0, sent = _produce(settings, planned)
            result = queue.get(timeout=max(180.0, len(planned) / 500))
            proc.join(60)
        finally:
            _cleanup(settings, run)
    counted_from = wall0 + WARMUP_S
    stage = HdrHistogram(1, 60_000_000, 3)  # microseconds
    kinds: dict[str, int] = {}
    for event_id, kind, seen in result["stages"]:
        produced = sent.get(event_id)
        if produced is None or produced < counted_from:
            continue
        stage.record_value(max(1, int((seen - produced) * 1e6)))
        kinds[kind] = kinds.get(kind, 0) + 1
    alert = HdrHistogram(1, 60_000_000, 3)
    for record_ts, seen in result["alerts"]:
        if record_ts >= counted_from:
            alert.record_value(max(1, int((seen - record_ts) * 1e6)))
    return {
        "stage": stage,
        "alert": alert,
        "expected": shipments * len(EXPECTED),
        "kinds": kinds,
        "readings": len(planned),
        "processed": result["processed"],
    }


def _ms(hist: HdrHistogram, q: float) -> float:
    return float(hist.get_value_at_percentile(q)) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one short run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--rate", type=float, default=1000.0, help="readings/s, all trucks")
    parser.add_argument("--shipments", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--redis-db", type=int, default=0)
    args = parser.parse_args()
    runs, seconds, shipments = (1, 3.0, 20) if args.smoke else (
        args.runs, args.seconds, args.shipments)  # fmt: skip
    print(f"{runs} run(s) of {seconds:g} s at {args.rate:,.0f} readings/s: {shipments} "
          f"shipment trucks ({STEPS} readings, {len(EXPECTED)} stage events each), "
          f"{FILLER_TRUCKS} other trucks (1 in {HOT_EVERY} readings hot)")  # fmt: skip
    pooled_stage = HdrHistogram(1, 60_000_000, 3)
    pooled_alert = HdrHistogram(1, 60_000_000, 3)
    per_run = []
    print(f"\n{'run':>4} {'stage p50':>10} {'stage p99':>10} {'stage max':>10} {'n':>6} "
          f"{'alert p50':>10} {'alert p99':>10} {'n':>6}   (ms)")  # fmt: skip
    for i in range(runs):
        r = one_run(args, seconds, shipments)
        s, a = r["stage"], r["alert"]
        pooled_stage.add(s)
        pooled_alert.add(a)
        per_run.append({"stage_p50_ms": _ms(s, 50), "stage_p99_ms": _ms(s, 99),
                        "alert_p50_ms": _ms(a, 50), "alert_p99_ms": _ms(a, 99),
                        "stage_events": s.get_total_count(), "expected": r["expected"],
                        "alerts": a.get_total_count(), "kinds": r["kinds"]})  # fmt: skip
        print(f"{i + 1:>4} {_ms(s, 50):10.2f} {_ms(s, 99):10.2f} {s.get_max_value() / 1000:10.2f} "
              f"{s.get_total_count():6d} {_ms(a, 50):10.2f} {_ms(a, 99):10.2f} "
              f"{a.get_total_count():6d}")  # fmt: skip
        if s.get_total_count() < r["expected"]:
            print(f"     {r['expected'] - s.get_total_count()} of {r['expected']} stage events "
                  f"not seen ({r['kinds']})")  # fmt: skip
    p50, p99 = _ms(pooled_stage, 50), _ms(pooled_stage, 99)
    a50, a99 = _ms(pooled_alert, 50), _ms(pooled_alert, 99)
    print(
        f"\nstage detection delay (reading completing the dwell -> stage event in Redis), "
        f"pooled: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max "
        f"{pooled_stage.get_max_value() / 1000:.2f} ms, n={pooled_stage.get_total_count()}"
    )
    print(
        f"alert latency (reading opening temp_high -> alert in Redis), same runs: p50 "
        f"{a50:.2f} ms, p99 {a99:.2f} ms, n={pooled_alert.get_total_count()}"
    )
    print(f"ratio stage / alert: p50 x{p50 / max(a50, 1e-3):.2f}, p99 x{p99 / max(a99, 1e-3):.2f}; "
          f"goal p99 < 100 ms: {'met' if p99 < 100 else 'NOT met'}")  # fmt: skip
    # One noisy run (a shared machine, a stack just started) weighs on the pooled p99; the
    # median of the runs' p99 says what a typical run sees.
    run_p99 = statistics.median(r["stage_p99_ms"] for r in per_run)
    run_alert_p99 = statistics.median(r["alert_p99_ms"] for r in per_run)
    print(f"median of the runs' p99: stage {run_p99:.2f} ms, alert {run_alert_p99:.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    summary = {
        "bench": "stage_detection",
        "runs": runs,
        "seconds": seconds,
        "rate": args.rate,
        "shipments": shipments,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": pooled_stage.get_max_value() / 1000,
        "samples": pooled_stage.get_total_count(),
        "alert_p50_ms": a50,
        "alert_p99_ms": a99,
        "alert_samples": pooled_alert.get_total_count(),
        "runs_p99_median_ms": run_p99,
        "alert_runs_p99_median_ms": run_alert_p99,
        "per_run": per_run,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
