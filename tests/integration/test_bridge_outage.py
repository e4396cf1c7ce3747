"""PostgreSQL stopped under load and started again: nothing lost, nothing sent to the DLQ.

The bridge writes to a private PostgreSQL (started from the stack's own code on a free port),
so stopping it never disturbs the shared test stack; Kafka is the shared one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, TopicPartition

from helpers import wait_until
from logistream.config import Settings, child_env
from logistream.kafka import make_producer
from logistream.stack.postgres_server import PostgresServer

READINGS = 20_000
RATE_PER_S = 2_000
OUTAGE_S = 8.0


def _produce_steadily(settings: Settings, acked: list[str], done: threading.Event) -> None:
    producer = make_producer(settings)
    start = time.time() - 3600

    def on_delivery(error: object, message: object) -> None:
        if error is None:
            acked.append(json.loads(message.value())["event_id"])  # type: ignore[attr-defined]

    for i in range(READINGS):
        body = {
            "truck_id": f"KBZ {i % 50:03d}A",
            "temp": 4.0 + (i % 7) / 10,
            "fuel": 50.0,
            "timestamp": start + i * 0.1,
            "event_id": str(uuid.uuid4()),
            "seq": i,
        }
        producer.produce(
            settings.topic_telemetry,
            key=body["truck_id"],
            value=json.dumps(body).encode(),
            on_delivery=on_delivery,
        )
        producer.poll(0)
        if i % 200 == 0:
            time.sleep(200 / RATE_PER_S)
    assert producer.flush(60) == 0
    done.set()


def _archived(url: str) -> tuple[int, int]:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM readings").fetchone()
            assert row is not None
            return int(row[0]), int(row[1])
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return -1, -1


def test_postgres_stopped_under_load_loses_nothing_and_dlqs_nothing(
    settings: Settings, private_postgres: tuple[PostgresServer, str], tmp_path: Path
) -> None:
    server, url = private_postgres
    bridge_settings = settings.model_copy(update={"database_url": url})
    env = child_env(bridge_settings)
    log = (tmp_path / "bridge.log").open("wb")
    bridge = subprocess.Popen(
        [str(Path(sys.executable).with_name("logistream")), "bridge"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    acked: list[str] = []
    produced = threading.Event()
    producer = threading.Thread(target=_produce_steadily, args=(settings, acked, produced))
    producer.start()
    try:
        wait_until(lambda: _archived(url)[0] > 2_000, timeout=120, what="the bridge archiving")
        server.down()
        time.sleep(OUTAGE_S)  # readings keep arriving in Kafka while the archive is away
        assert bridge.poll() is None, "the bridge must wait for PostgreSQL, not exit"
        server.up()
        producer.join(timeout=120)
        assert produced.is_set()
        wait_until(lambda: _archived(url)[0] == len(acked), timeout=180, what="catch-up")
        assert _archived(url) == (READINGS, READINGS)
        assert len(set(acked)) == READINGS
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM rejected_readings").fetchone() == (0,)
            stored = conn.execute("SELECT event_id FROM readings").fetchall()
        assert {row[0] for row in stored} == set(acked)
    finally:
        bridge.send_signal(signal.SIGTERM)
        code = bridge.wait(timeout=60)
        log.close()
        print((tmp_path / "bridge.log").read_text()[-3000:])
    assert code == 0

    dlq = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "dlq-check"})
    partitions = dlq.list_topics(settings.topic_dlq, timeout=10).topics[settings.topic_dlq]
    ends = [
        dlq.get_watermark_offsets(TopicPartition(settings.topic_dlq, p), timeout=10)[1]
        for p in partitions.partitions
    ]
    dlq.close()
    assert sum(ends) == 0, "a good reading must never go to the DLQ because the archive was down"
