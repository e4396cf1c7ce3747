"""Produce a group of messages from asyncio and wait until Kafka acknowledged every one.

A device gateway may answer a device only after Kafka has its readings (otherwise a crash
loses them while the device thinks they were delivered). librdkafka reports deliveries from
``poll``; here one thread serves them (``poll`` returns as soon as a report arrives, so the wait
adds no latency) and hands each report to the event loop with ``loop.call_soon_threadsafe``.
:meth:`AckedProducer.send` resolves when the group is settled: None when every message was
acknowledged, else a sentence saying why not (refused, or not acknowledged in time). The
producer's ``message.timeout.ms`` should be the same timeout, so librdkafka gives up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from typing import Final

from logistream.kafka import KafkaIssue, Producer, Record

_POLL_S: Final = 0.05


class _Group:
    """The delivery reports of one group, counted on the event loop."""

    __slots__ = ("future", "left")

    def __init__(self, future: asyncio.Future[str | None], size: int) -> None:
        self.future = future
        self.left = size

    def settle(self, error: str | None) -> None:
        if self.future.done():
            return
        if error is not None:
            self.future.set_result(f"Kafka refused a message: {error}")
            return
        self.left -= 1
        if self.left <= 0:
            self.future.set_result(None)


class AckedProducer:
    """One durable producer shared by every connection, with its delivery-report thread."""

    def __init__(self, producer: Producer, topic: str, timeout_s: float) -> None:
        self._producer = producer
        self.topic = topic
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-acks", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(_POLL_S)

    async def send(self, messages: Sequence[tuple[str, bytes]]) -> str | None:
        """Produce ``(key, value)`` messages; None once Kafka acknowledged them all, else why
        not. Messages already handed over may still arrive after a failure: the caller's event
        ids make a second copy harmless."""
        if not messages:
            return None
        loop = asyncio.get_running_loop()
        group = _Group(loop.create_future(), len(messages))

        def report(error: KafkaIssue | None, _record: Record) -> None:
            # On the poll thread (or in flush at the end): hand over to the loop.
            text = None if error is None else error.str()
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(group.settle, text)

        deadline = time.monotonic() + self.timeout_s

        def late() -> bool:
            return time.monotonic() > deadline

        for key, value in messages:
            # A full local queue is waited out briefly (on this thread), within the deadline.
            if not self._producer.produce(
                self.topic, value, key, on_delivery=report, give_up=late, wait_s=0.01
            ):
                return f"Kafka's local queue stayed full for {self.timeout_s:g} s"
        try:
            return await asyncio.wait_for(
                asyncio.shield(group.future), max(0.0, deadline - time.monotonic()) + 1.0
            )
        except TimeoutError:
            return f"Kafka did not acknowledge within {self.timeout_s:g} s"

    def close(self, timeout_s: float) -> int:
        """Flush what is in flight, stop the report thread; how many messages were left."""
        left = self._producer.flush(timeout_s)
        self._stop.set()
        self._thread.join(timeout_s)
        return left
