"""Exactly once across crashes: kill -9 a real bridge again and again while readings flow."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from helpers import seeded_random, wait_until
from logistream.config import Settings
from logistream.kafka import make_producer

TOTAL = 100_000
KILLS = 12


def _bridge(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    # A fixed static member id: the restarted bridge gets the partitions back at once instead
    # of waiting out the killed member's session timeout.
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("logistream")), "bridge",
         "--instance-id", "kill-test"],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _db(settings: Settings) -> psycopg.Connection[tuple[Any, ...]]:
    assert settings.database_url
    return psycopg.connect(settings.database_url, autocommit=True)


def _archive_state(settings: Settings) -> tuple[int, int, int, dict[int, int]]:
    """(rows, distinct event ids, sum of stored offsets, stored offsets by partition)."""
    with _db(settings) as conn:
        try:
            rows, distinct = conn.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM readings"
            ).fetchone() or (0, 0)
            stored = dict(
                conn.execute(
                    "SELECT partition, next_offset FROM kafka_offsets "
                    "WHERE consumer_group = %s AND topic = %s",
                    [settings.bridge_group, settings.topic_telemetry],
                ).fetchall()
            )
        except psycopg.errors.UndefinedTable:  # killed before its first migration
            return 0, 0, 0, {}
    return int(rows), int(distinct), sum(stored.values()), stored


def _end_offsets(settings: Settings) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "probe"})
    try:
        topic = settings.topic_telemetry
        meta = consumer.list_topics(topic, timeout=30)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in meta.topics[topic].partitions
        }
    finally:
        consumer.close()


class _Producer(threading.Thread):
    """Produces TOTAL unique readings over a few tens of seconds; counts acknowledgements."""

    def __init__(self, settings: Settings, seed: int) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.seed = seed
        self.acked: set[str] = set()
        self.error: BaseException | None = None

    def run(self) -> None:
        import random

        rng = random.Random(self.seed)
        producer = make_producer(self.settings)
        start = time.time() - TOTAL / 100

        def report(error: Any, msg: Any) -> None:
            if error is None:
                self.acked.add(json.loads(msg.value())["event_id"])

        try:
            for i in range(TOTAL):
                truck = f"KCK-{rng.randrange(50):03d}"
                event_id = str(uuid.UUID(int=rng.getrandbits(128)))
                value = json.dumps(
                    {"truck_id": truck, "temp": round(rng.uniform(2, 8), 2), "fuel": 60.0,
                     "timestamp": start + i / 100, "event_id": event_id, "seq": i}
                ).encode()  # fmt: skip
                while True:
                    try:
                        producer.produce(
                            self.settings.topic_telemetry, value, truck.encode(),
                            on_delivery=report,
                        )  # fmt: skip
                        break
                    except BufferError:
                        producer.poll(0.05)
                if i % 1_000 == 0:
                    producer.poll(0)
                    time.sleep(0.3)  # spread the run over the kills (~3,000 readings/s)
            assert producer.flush(120) == 0
        except BaseException as error:
            self.error = error


def test_kill_9_at_random_moments_keeps_every_reading_exactly_once(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    rng = seeded_random("kill-9")
    producer = _Producer(settings, rng.randrange(2**32))
    log = tmp_path / "bridge.log"
    producer.start()
    kills = 0
    try:
        while kills < KILLS:
            bridge = _bridge(settings_env, log)
            # Kill moments from the seeded generator: from during start-up to mid-stream.
            time.sleep(rng.uniform(1.0, 4.0))
            bridge.send_signal(signal.SIGKILL)
            bridge.wait(30)
            kills += 1
            rows, distinct, offsets_sum, _ = _archive_state(settings)
            print(f"kill {kills}: {rows} rows archived, stored offsets sum {offsets_sum}")
            # Rows and offsets move together: a batch is in with its offsets or not at all.
            assert rows == distinct == offsets_sum
        producer.join(300)
        assert producer.error is None, producer.error
        assert len(producer.acked) == TOTAL

        starts = log.read_text().count("assigned")
        bridge = _bridge(settings_env, log)
        wait_until(
            lambda: log.read_text().count("assigned") > starts, timeout=60, what="bridge running"
        )
        wait_until(
            lambda: (
                _archive_state(settings)[3]
                == {p: n for p, n in _end_offsets(settings).items() if n}
            ),
            timeout=180,
            what="the restarted bridge catching up",
        )
        bridge.send_signal(signal.SIGTERM)
        assert bridge.wait(60) == 0, log.read_text()
    finally:
        producer.join(1)

    rows, distinct, offsets_sum, stored = _archive_state(settings)
    print(f"after {kills} kills: {rows} rows, {distinct} distinct, offsets {stored}")
    assert rows == distinct == len(producer.acked) == offsets_sum
    assert stored == {p: n for p, n in _end_offsets(settings).items() if n}
    with _db(settings) as conn:
        ids = {r[0] for r in conn.execute("SELECT event_id FROM readings")}
    assert ids == producer.acked
