"""The typed producer: the one place that waits out a full local queue (``BufferError``: serve
delivery reports and try again, never drop) and counts delivery reports (:class:`Deliveries`)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from logistream.config import Endpoints, Settings
from logistream.kafka.config import make_producer
from logistream.kafka.records import ConfigValue, DeliveryCallback, KafkaIssue, Record

T = TypeVar("T")


class Deliveries(Generic[T]):
    """The delivery reports of a group of messages, counted once for every producer.

    ``track(item)`` gives the callback for one message; ``pending`` is how many the broker has not
    answered yet and ``failed`` the items it refused, with the error. Thread-safe: reports may
    be served on another thread (the API's poll thread), and ``wait`` blocks until none is
    pending.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Event()
        self._settled.set()
        self.pending = 0
        self.failed: list[tuple[T, str]] = []

    def track(self, item: T) -> DeliveryCallback:
        with self._lock:
            self.pending += 1
            self._settled.clear()
        return functools.partial(self._report, item)

    def _report(self, item: T, error: KafkaIssue | None, _record: Record) -> None:
        with self._lock:
            if error is not None:
                self.failed.append((item, error.str()))
            self.pending -= 1
            if self.pending <= 0:
                self._settled.set()

    def wait(self, timeout_s: float | None) -> bool:
        """Whether every tracked message got its report within ``timeout_s``."""
        return self._settled.wait(timeout_s)


class Producer:
    """A producer that never drops a message: a full local queue (``BufferError``) is drained
    by serving delivery reports, and the message handed over again.

    Wraps a ``confluent_kafka.Producer`` (from :func:`make_producer`: idempotent, acks=all).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        # Bound once: the simulator produces hundreds of thousands of messages a second.
        self._produce = client.produce
        self._poll = client.poll

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | str | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
        on_delivery: DeliveryCallback | None = None,
        give_up: Callable[[], bool] | None = None,
        wait_s: float = 0.05,
    ) -> bool:
        """Hand one message to the producer; ``True`` once it has it.

        While the local queue is full, delivery reports are served for ``wait_s`` and it is
        tried again; ``False`` only when ``give_up()`` says so between tries (the caller keeps
        the message). Without ``give_up`` it waits until there is room.
        """
        while True:
            try:
                if headers is None:
                    self._produce(topic, value, key, on_delivery=on_delivery)
                else:
                    self._produce(topic, value, key, headers=headers, on_delivery=on_delivery)
                return True
            except BufferError:
                self._poll(wait_s)
                if give_up is not None and give_up():
                    return False

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve delivery reports (and the error callback) for up to ``timeout_s``."""
        return int(self._poll(timeout_s))

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for every message to be reported; how many still are not."""
        return int(self._client.flush(timeout_s))

    def purge(
        self, *, in_queue: bool = True, in_flight: bool = True, blocking: bool = True
    ) -> None:
        """Give up messages not yet acknowledged; each gets a failed delivery report."""
        self._client.purge(in_queue=in_queue, in_flight=in_flight, blocking=blocking)

    def leaders_ready(self, topic: str, timeout_s: float) -> bool:
        """Whether the broker answers and every partition of ``topic`` has a leader."""
        from confluent_kafka import KafkaException

        try:
            metadata = self._client.list_topics(topic, timeout=timeout_s)
        except KafkaException:
            return False
        found = metadata.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            return False
        return all(p.leader >= 0 for p in found.partitions.values())

    def send_all(
        self,
        topic: str,
        messages: Iterable[tuple[bytes | str | None, bytes]],
        timeout_s: float,
    ) -> list[str]:
        """Produce ``(key, value)`` pairs and flush; the errors (empty: all acknowledged).

        A message not acknowledged within ``timeout_s`` counts as an error.
        """
        deliveries: Deliveries[int] = Deliveries()
        for i, (key, value) in enumerate(messages):
            self.produce(topic, value, key, on_delivery=deliveries.track(i))
        left = self.flush(timeout_s)
        errors = [error for _i, error in deliveries.failed]
        if left:
            errors.append(f"{left} not acknowledged within {timeout_s:g} s")
        return errors


def as_producer(client: object) -> Producer:
    """The typed wrapper over a ``confluent_kafka.Producer`` (a wrapper is returned as is), for
    callers that still hold the client :func:`make_producer` returns."""
    return client if isinstance(client, Producer) else Producer(client)


def durable_producer(
    settings: Settings,
    endpoints: Endpoints | None = None,
    *,
    config: Mapping[str, ConfigValue] | None = None,
    on_error: Callable[[KafkaIssue], None] | None = None,
) -> Producer:
    """A typed, durable producer (:func:`make_producer`; ``config`` adds or overrides
    settings); ``on_error`` gets client-wide errors (all brokers down, a fatal error) from
    ``poll``/``flush``."""
    callbacks: dict[str, Any] = {"error_cb": on_error} if on_error is not None else {}
    return Producer(make_producer(settings, endpoints, **(config or {}), **callbacks))
