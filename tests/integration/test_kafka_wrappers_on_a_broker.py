"""The typed Kafka wrappers against the real broker: a producer with a tiny local queue loses
nothing (every message is acknowledged and arrives once, in order), and a consumer resumes
exactly after the offsets it committed."""

from __future__ import annotations

import time
import uuid

from tests.helpers import seeded_random

from logistream.config import Settings
from logistream.kafka import Consumer, Deliveries, TopicOffset, durable_producer, group_consumer


def _read(consumer: Consumer, wanted: int, timeout_s: float = 60.0) -> list[tuple[int, bytes]]:
    found: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < wanted and time.monotonic() < deadline:
        found += [(r.partition() or 0, r.value() or b"") for r in consumer.consume(500, 0.5)]
    return found


def test_a_full_queue_drops_nothing_and_a_consumer_resumes_after_its_commit(
    settings: Settings,
) -> None:
    rng = seeded_random("kafka wrappers")
    count = 2_000 + rng.randrange(500)
    topic = settings.topic_telemetry
    producer = durable_producer(settings, config={"queue.buffering.max.messages": 50})
    deliveries: Deliveries[int] = Deliveries()
    for i in range(count):
        # One key: one partition, so the order is Kafka's promise and can be checked.
        assert producer.produce(topic, b"%06d" % i, b"KBX-001", on_delivery=deliveries.track(i))
    assert producer.flush(60) == 0
    assert deliveries.pending == 0
    assert deliveries.failed == []
    assert producer.leaders_ready(topic, 10)

    group = f"wrappers-{uuid.uuid4().hex[:8]}"
    consumer = group_consumer(settings, group)
    consumer.subscribe([topic])
    first = _read(consumer, count)
    assert [value for _p, value in first] == [b"%06d" % i for i in range(count)]
    assert {p.partition for p in consumer.assignment()} == set(range(settings.partitions))
    # Commit a position in the middle of the one partition that holds them, then reopen.
    partitions = {p for p, _value in first}
    assert len(partitions) == 1
    partition = partitions.pop()
    half = count // 2
    consumer.commit([TopicOffset(topic, partition, half)])
    consumer.close()

    again = group_consumer(settings, group)
    again.subscribe([topic])
    rest = _read(again, count - half)
    again.close()
    assert [value for _p, value in rest] == [b"%06d" % i for i in range(half, count)]
