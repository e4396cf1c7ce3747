"""Helpers (no tests) for the speed layer's integration tests: a real `logistream speed`, topics."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import LOGISTREAM, running

from logistream.config import Settings
from logistream.events import Alert, decode_alert


@contextmanager
def speed_process(env: dict[str, str], *args: str, log: Path | None = None) -> Iterator[Any]:
    """A real `logistream speed` subprocess; stopped with SIGTERM, which must exit 0."""
    with running([LOGISTREAM, "speed", *args], env, log, "logistream speed") as proc:
        yield proc


def produce(settings: Settings, records: list[tuple[str | None, bytes]]) -> None:
    from logistream.kafka import make_producer

    producer = make_producer(settings)
    for key, value in records:
        if key is None:
            producer.produce(settings.topic_telemetry, value=value)
        else:
            producer.produce(settings.topic_telemetry, key=key, value=value)
    assert producer.flush(30) == 0


def reading(truck_id: str, ts: float, temp: float, **extra: Any) -> bytes:
    return json.dumps({"truck_id": truck_id, "temp": temp, "timestamp": ts, **extra}).encode()


class TopicReader:
    """Reads a topic from the beginning, keeping what it has seen."""

    def __init__(self, settings: Settings, topic: str) -> None:
        from logistream.kafka import make_consumer

        self.consumer = make_consumer(settings, f"test-reader.{uuid.uuid4().hex}")
        self.consumer.subscribe([topic])
        self.records: list[tuple[bytes | None, bytes]] = []

    def poll(self, seconds: float = 0.5) -> list[tuple[bytes | None, bytes]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.consumer.poll(0.1)
            if msg is None or msg.error():
                continue
            self.records.append((msg.key(), msg.value()))
        return self.records

    def alerts(self) -> list[Alert]:
        return [decode_alert(v) for _, v in self.poll()]

    def close(self) -> None:
        self.consumer.close()


def delete_checkpoint_topic(settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient

    from logistream.speed.checkpoint import checkpoint_topic

    assert settings.kafka_bootstrap
    AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).delete_topics(
        [checkpoint_topic(settings)], operation_timeout=30
    )
