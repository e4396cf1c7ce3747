"""Producing to Kafka from request threads, answering only after Kafka acknowledged.

One durable producer (``kafka.make_producer``: idempotent, acks=all) is shared by all requests;
a background thread serves its delivery reports, and each request waits for its own messages
only, not for everyone's (``flush`` would wait for all).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, Final

from logistream.errors import LogiStreamError

_POLL_S: Final = 0.05


class KafkaUnavailable(LogiStreamError):
    """Kafka did not acknowledge in time; nothing can be promised about the messages."""


class _Pending:
    def __init__(self, count: int) -> None:
        self.left = count
        self.errors: list[str] = []
        self.done = threading.Event()
        self._lock = threading.Lock()
        if count == 0:
            self.done.set()

    def delivered(self, error: Any, _message: Any) -> None:
        with self._lock:
            if error is not None:
                self.errors.append(str(error))
            self.left -= 1
            if self.left <= 0:
                self.done.set()


class Publisher:
    """``publish`` blocks until Kafka has every message (or raises :class:`KafkaUnavailable`)."""

    def __init__(self, producer: Any, timeout_s: float) -> None:
        self._producer = producer
        self._timeout = timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="api-kafka-poll", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(_POLL_S)

    def publish(self, topic: str, messages: Iterable[tuple[str, bytes]]) -> None:
        items = list(messages)
        pending = _Pending(len(items))
        deadline = time.monotonic() + self._timeout
        for key, value in items:
            while True:
                try:
                    self._producer.produce(
                        topic, key=key, value=value, on_delivery=pending.delivered
                    )
                    break
                except BufferError:
                    # The local queue is full: the poll thread drains it; wait, bounded.
                    if time.monotonic() > deadline:
                        raise KafkaUnavailable(self._late(topic)) from None
                    time.sleep(_POLL_S)
        if not pending.done.wait(max(0.0, deadline - time.monotonic())):
            raise KafkaUnavailable(self._late(topic))
        if pending.errors:
            raise KafkaUnavailable(
                f"Kafka refused {len(pending.errors)} message(s) on {topic}: {pending.errors[0]}; "
                "send them again (the archive keeps each event_id once)"
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
