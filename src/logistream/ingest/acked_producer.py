"""Produce a group of messages from asyncio and wait until Kafka acknowledged every one.

A device gateway may answer a device only after Kafka has its readings (otherwise a crash
loses them while the device thinks they were delivered). librdkafka reports deliveries from
``poll``; here one thread serves them (``poll`` returns as soon as a report arrives, so the wait
adds no latency) and hands each report to the event loop with ``loop.call_soon_threadsafe``.
:meth:`AckedProducer.send` resolves when the group is settled: None when every message was
acknowledged, else a sentence saying why not (refused, or not acknowledged in time). The
producer's ``message.timeout.ms`` should be the same timeout, so librdkafka gives up too.

A **fatal** producer error (librdkafka's error callback, a delivery report, or ``produce``
raising it) means this producer can never deliver again: :attr:`AckedProducer.fatal_error` says
why, every group still waiting is settled as failed at once (so no device is answered for
readings Kafka did not take), later sends fail at once, and the ``on_fatal`` listeners are called
(the gateway stops; restarting the process, with a new producer, is the cure).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from logistream.kafka import KafkaIssue, Producer, Record, is_fatal

ErrorCallback = Callable[[KafkaIssue], None]

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
    """One durable producer shared by every connection, with its delivery-report thread.

    ``make`` builds the producer given the error callback to install (librdkafka's
    ``error_cb``), so client-wide fatal errors reach this object.
    """

    def __init__(
        self, make: Callable[[ErrorCallback], Producer], topic: str, timeout_s: float
    ) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        self.fatal_error: str | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: set[_Group] = set()
        self._producer = make(self._client_error)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-acks", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._producer.poll(_POLL_S)
            except Exception as error:  # a failed client raises from poll: it serves no more
                text, _fatal = _kafka_exception(error)
                self._fail(text)
                return

    def _client_error(self, error: KafkaIssue) -> None:
        # librdkafka's error_cb, on the poll thread. Non-fatal ones (all brokers down, ...) are
        # transient: deliveries time out and packets go unanswered meanwhile.
        if is_fatal(error):
            self._fail(error.str())

    def on_fatal(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` (on any thread) once a fatal error happens; at once if one
        already did."""
        with self._lock:
            reason = self.fatal_error
            if reason is None:
                self._listeners.append(listener)
        if reason is not None:
            listener(reason)

    def _fail(self, detail: str) -> None:
        """Any thread: record the first fatal error (Kafka's ``detail``), fail every waiting
        group, tell listeners."""
        reason = f"the Kafka producer failed fatally: {detail}"
        with self._lock:
            if self.fatal_error is not None:
                return
            self.fatal_error = reason
            listeners = list(self._listeners)
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(self._settle_waiting, reason)
        for listener in listeners:
            with contextlib.suppress(RuntimeError):  # its loop closed: it stopped already
                listener(reason)

    def _settle_waiting(self, reason: str) -> None:
        for group in list(self._waiting):
            group.settle(reason)

    async def send(self, messages: Sequence[tuple[str, bytes]]) -> str | None:
        """Produce ``(key, value)`` messages; None once Kafka acknowledged them all, else why
        not. Messages already handed over may still arrive after a failure: the caller's event
        ids make a second copy harmless."""
        if self.fatal_error is not None:
            return self.fatal_error
        if not messages:
            return None
        loop = asyncio.get_running_loop()
        self._loop = loop
        group = _Group(loop.create_future(), len(messages))

        def report(error: KafkaIssue | None, _record: Record) -> None:
            # On the poll thread (or in flush at the end): hand over to the loop.
            if error is not None and is_fatal(error):
                self._fail(error.str())
            text = None if error is None else error.str()
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(group.settle, text)

        deadline = time.monotonic() + self.timeout_s

        def late() -> bool:
            return time.monotonic() > deadline

        self._waiting.add(group)
        try:
            for key, value in messages:
                # A full local queue is waited out briefly (on this thread), within the deadline.
                try:
                    handed = self._producer.produce(
                        self.topic, value, key, on_delivery=report, give_up=late, wait_s=0.01
                    )
                except Exception as error:  # KafkaException: refused before any delivery
                    return self._refused(error)
                if not handed:
                    return f"Kafka's local queue stayed full for {self.timeout_s:g} s"
                if self.fatal_error is not None:
                    return self.fatal_error
            try:
                return await asyncio.wait_for(
                    asyncio.shield(group.future), max(0.0, deadline - time.monotonic()) + 1.0
                )
            except TimeoutError:
                return f"Kafka did not acknowledge within {self.timeout_s:g} s"
        finally:
            self._waiting.discard(group)

    def _refused(self, error: Exception) -> str:
        """``produce`` raised: a fatal client error (the producer is done for), else a message
        Kafka cannot take (too large, an unknown partition): that group is refused."""
        text, fatal = _kafka_exception(error)
        if fatal:
            self._fail(text)
            return self.fatal_error or text
        return f"Kafka refused a message: {text}"

    def close(self, timeout_s: float) -> int:
        """Flush what is in flight, stop the report thread; how many messages were left."""
        self._stop.set()
        self._thread.join(timeout_s)
        # A failed producer delivers nothing more: do not wait for it.
        return self._producer.flush(0 if self.fatal_error is not None else timeout_s)


def _kafka_exception(error: Exception) -> tuple[str, bool]:
    """(Kafka's own sentence, whether fatal) for a ``KafkaException`` (its ``args[0]`` is the
    ``KafkaError``); any other exception: its text, not fatal."""
    issue: Any = error.args[0] if error.args else None
    if hasattr(issue, "str") and hasattr(issue, "fatal"):
        return f"{issue.str()} ({issue.name()})", is_fatal(issue)
    return str(error), False
