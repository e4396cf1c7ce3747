"""Producing to Kafka from request threads, answering only after Kafka acknowledged.

One durable producer (``kafka.make_producer``: idempotent, acks=all) is shared by all requests;
a background thread serves its delivery reports, and each request waits for its own messages
only, not for everyone's (``flush`` would wait for all).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Final

from logistream.errors import StoreUnavailable
from logistream.kafka import Deliveries, as_producer

_POLL_S: Final = 0.05


class KafkaUnavailable(StoreUnavailable):
    """Kafka did not acknowledge in time; nothing can be promised about the messages."""

    def __init__(self, detail: str) -> None:
        super().__init__("kafka", detail)


class Publisher:
    """``publish`` blocks until Kafka has every message (or raises :class:`KafkaUnavailable`)."""

    def __init__(self, producer: object, timeout_s: float) -> None:
        self._producer = as_producer(producer)
        self._timeout = timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="api-kafka-poll", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(_POLL_S)

    def publish(self, topic: str, messages: Iterable[tuple[str, bytes]]) -> None:
        deliveries: Deliveries[str] = Deliveries()
        deadline = time.monotonic() + self._timeout

        def late() -> bool:
            return time.monotonic() > deadline

        for key, value in messages:
            # A full local queue waits for room, bounded by the request's deadline.
            if not self._producer.produce(
                topic, value, key, on_delivery=deliveries.track(key), give_up=late, wait_s=_POLL_S
            ):
                raise KafkaUnavailable(self._late(topic))
        if not deliveries.wait(max(0.0, deadline - time.monotonic())):
            raise KafkaUnavailable(self._late(topic))
        if deliveries.failed:
            raise KafkaUnavailable(
                f"Kafka refused {len(deliveries.failed)} message(s) on {topic}: "
                f"{deliveries.failed[0][1]}; send them again (the archive keeps each event_id once)"
            )

    def _late(self, topic: str) -> str:
        return (
            f"Kafka did not acknowledge on {topic} within {self._timeout:.0f} s; it may be down "
            "(see /ready); send the request again later (the archive keeps each event_id once)"
        )

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self._producer.flush(timeout_s)
