"""A compacted topic read whole, then followed: the reading the speed layer's feeds share.

A compacted topic holds current state (the newest record per key): every speed processor reads
every partition from its start, with no committed offsets, up to the end before its first
reading is processed (so no reading passes unjudged by that state), then polls for changes
without waiting. Each record goes to the feed's ``apply(value, offset)``; what a record means is
the feed's business (:mod:`shipments_feed`, :mod:`modes_feed`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from logistream.config import Endpoints, Settings
from logistream.errors import StackError, StoreUnavailable
from logistream.kafka import Consumer, TopicOffset, group_consumer

log = logging.getLogger("logistream.speed")

Apply = Callable[[bytes | None, int], object]
"""A feed's handling of one record: its value (None: a tombstone) and its offset."""


def _bounds(
    consumer: Consumer, topic: str, deadline: float
) -> tuple[list[TopicOffset], dict[int, int]]:
    """Each partition's first offset and its end. A topic just created takes a moment to show
    in the metadata and to have its partitions' leaders: asked again until ``deadline``."""
    while True:
        try:
            partitions = consumer.partitions(topic, 10)
            starts = consumer.offsets_for_times([TopicOffset(topic, p, 0) for p in partitions], 10)
            ends = {p: consumer.watermarks(topic, p, timeout_s=10)[1] for p in partitions}
            return starts, ends
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class CompactedFeed:
    """One compacted topic, read from its start by a consumer of its own."""

    def __init__(self) -> None:
        self.consumer: Consumer | None = None

    def open(
        self,
        settings: Settings,
        endpoints: Endpoints,
        group_id: str,
        topic: str,
        apply: Apply,
        timeout_s: float = 30.0,
    ) -> None:
        """Assign every partition from its start and read up to the end (the topic exists)."""
        consumer = group_consumer(settings, group_id, endpoints)
        self.consumer = consumer
        deadline = time.monotonic() + timeout_s
        starts, ends = _bounds(consumer, topic, deadline)
        consumer.assign(starts)
        # A partition with no record at or after time 0 (empty, or compacted away) is read.
        position = {s.partition: s.offset if s.offset >= 0 else ends[s.partition] for s in starts}
        while any(position.get(p, 0) < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                raise StackError(
                    f"reading topic {topic} to its end took over {timeout_s:.0f} s; is Kafka up?"
                )
            for msg in consumer.consume(500, 0.5):
                position[msg.partition()] = msg.offset() + 1
                apply(msg.value(), msg.offset())

    def poll(self, apply: Apply, max_messages: int = 100) -> None:
        """Apply the records published since the last poll (without waiting)."""
        if self.consumer is None:
            return
        for msg in self.consumer.consume(max_messages, 0):
            apply(msg.value(), msg.offset())

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
