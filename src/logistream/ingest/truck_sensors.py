"""The trucks' sensors on the wire: a durable Kafka producer with an on-disk spool behind it.

Producing is idempotent with ``acks=all`` (``logistream.kafka.make_producer``); every delivery
report is counted. A full local queue (``BufferError``) is handled by polling, never by dropping.
When Kafka is unreachable (all brokers down, or messages timing out) new messages go to the
spool on disk instead, as an edge device would keep them; a metadata probe notices Kafka coming
back, and the spool is drained oldest first before new messages go out directly again, so each
truck's readings keep their order. Messages that fail delivery are appended to the spool with
their bytes unchanged, and so, each second while offline, are those still queued in the
producer's memory, so that a crash loses none of them. On stop, Kafka gets the flush timeout
to come back and take the spool; what it has not acknowledged by then is purged from the
producer into the spool, for the next run.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from logistream.ingest.simulator import Emission, FleetSim
from logistream.ingest.spool import Segment, Spool
from logistream.kafka import ConfigValue, KafkaIssue, Producer, Record, durable_producer

if TYPE_CHECKING:
    from logistream.config import Settings

POLL_EVERY: Final = 2_000
"""Serve delivery reports after this many produce calls."""
DRAIN_BATCH: Final = 5_000
PROBE_INTERVAL_S: Final = 1.0
STUCK_S: Final = 5.0
"""A queue that stays full this long with no delivery report means Kafka is out of reach."""

# Producer settings for throughput, on top of the durable ones (idempotence, acks=all, lz4).
THROUGHPUT: Final[dict[str, ConfigValue]] = {
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 512 * 1024,
}


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    """Handed to the producer (directly or from the spool)."""
    acknowledged: int = 0
    failed: int = 0
    """Delivery reports with an error; each of those messages went back to the spool."""
    spooled: int = 0
    """Written to the spool (while Kafka was unreachable, or after a failed delivery)."""
    drained: int = 0
    """Sent from the spool and acknowledged."""
    dropped: int = 0
    """Deleted unsent because the spool was full."""
    left_in_spool: int = 0

    def summary(self) -> str:
        return (
            f"sent {self.sent}, acknowledged {self.acknowledged}, failed {self.failed}; "
            f"spooled {self.spooled}, drained {self.drained}, dropped {self.dropped}, "
            f"left in spool {self.left_in_spool}"
        )


class TruckSensors:
    """Send messages to one topic; spool them while Kafka is out of reach."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        spool: Spool,
        *,
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        from confluent_kafka import KafkaError

        self._codes_down = {KafkaError._ALL_BROKERS_DOWN}
        self._code_timeout = KafkaError._MSG_TIMED_OUT
        self._producer = producer
        self._produce = producer.produce
        self._poll = producer.poll
        self._cannot_send = self._stuck_or_away
        self._drain_stuck = self._stuck_or_offline
        self._topic = topic
        self.spool = spool
        self.stats = SendStats()
        self._log = log
        self._direct = not spool.has_unread()
        self._offline = False
        self._since_poll = 0
        self._next_probe = 0.0
        self._last_report = time.monotonic()
        self._deliver = self._on_delivery

    # --- callbacks (run inside poll/flush) ----------------------------------------------------

    def on_error(self, error: KafkaIssue) -> None:
        """The producer's ``error_cb``: all brokers down means offline."""
        if error.fatal():
            raise RuntimeError(f"Kafka producer failed for good: {error}")
        if error.code() in self._codes_down and not self._offline:
            self._go_offline(f"Kafka unreachable ({error.str()})")

    def _on_delivery(self, error: KafkaIssue | None, message: Record) -> None:
        self._last_report = time.monotonic()
        if error is None:
            self.stats.acknowledged += 1
            return
        self._delivery_failed(error, message)

    def _on_drained(self, segment: Segment, error: KafkaIssue | None, message: Record) -> None:
        self._last_report = time.monotonic()
        if error is None:
            self.stats.acknowledged += 1
            self.stats.drained += 1
        else:
            self._delivery_failed(error, message)
        self.spool.resolved(segment)

    def _delivery_failed(self, error: KafkaIssue, message: Record) -> None:
        self.stats.failed += 1
        self.spool.append(message.key(), message.value() or b"")
        self.stats.spooled += 1
        if error.code() == self._code_timeout and not self._offline:
            self._go_offline(f"delivery timed out ({error.str()})")
        # Later messages must queue behind this one: stop sending directly.
        self._direct = False

    # --- state -----------------------------------------------------------------------------------

    def _go_offline(self, why: str) -> None:
        self._offline = True
        self._direct = False
        self._next_probe = time.monotonic() + PROBE_INTERVAL_S
        self._log(f"{why}: spooling to {self.spool.directory}")

    def _purge_queue_to_spool(self) -> None:
        """Move what waits unsent in the producer's memory to the spool on disk, where a crash
        does not lose it. Offline, it would only wait there for the message timeout; each
        purged message's delivery report appends it to the spool. Messages in flight are left
        to their delivery report: the broker may have written them."""
        self._producer.purge(in_queue=True, in_flight=False, blocking=False)
        self._poll(0)
        self.spool.flush()

    def _probe(self) -> bool:
        return self._producer.leaders_ready(self._topic, 0.5)

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the topic's partition leaders answered within the timeout (connects early,
        so that a benchmark's clock does not start with the first connection)."""
        return self._producer.leaders_ready(self._topic, timeout_s)

    def _stuck_or_away(self) -> bool:
        """While the queue is full: give up sending directly (and spool) once Kafka seems away."""
        return not self._direct or time.monotonic() - self._last_report > STUCK_S

    def _stuck_or_offline(self) -> bool:
        return self._offline or time.monotonic() - self._last_report > STUCK_S

    @property
    def offline(self) -> bool:
        return self._offline

    # --- sending ---------------------------------------------------------------------------------

    def send(self, key: bytes | None, value: bytes) -> None:
        """Send one message, or spool it; never drops it."""
        if self._direct:
            # A full queue is waited out by serving delivery reports, unless Kafka is away.
            if not self._produce(
                self._topic, value, key, on_delivery=self._deliver, give_up=self._cannot_send
            ):
                if not self._offline:
                    self._go_offline("producer queue full and no delivery reports")
                self.spool.append(key, value)
                self.stats.spooled += 1
                return
            self.stats.sent += 1
            self._since_poll += 1
            if self._since_poll >= POLL_EVERY:
                self._since_poll = 0
                self._poll(0)
        else:
            self.spool.append(key, value)
            self.stats.spooled += 1

    def service(self) -> None:
        """Serve delivery reports, notice Kafka coming back, drain the spool."""
        self._poll(0)
        self._since_poll = 0
        if self._offline:
            now = time.monotonic()
            if now < self._next_probe:
                self.spool.flush()
                return
            self._next_probe = now + PROBE_INTERVAL_S
            self._purge_queue_to_spool()  # flushes the spool too
            if not self._probe():
                return
            self._offline = False
            self._last_report = time.monotonic()
            self._log(f"Kafka reachable again: draining {self.spool.unread} spooled messages")
        if not self._direct:
            self._drain(DRAIN_BATCH * 4)

    def _drain(self, budget: int) -> None:
        while budget > 0 and not self._offline:
            batch = self.spool.read(min(budget, DRAIN_BATCH))
            if batch is None:
                self._direct = True
                return
            segment, records = batch
            callback = functools.partial(self._on_drained, segment)
            for i, (key, value) in enumerate(records):
                if not self._produce(
                    self._topic, value, key, on_delivery=callback, give_up=self._drain_stuck
                ):
                    # Put back what was not handed over; it stays in order on disk.
                    for k, v in records[i:]:
                        self.spool.append(k, v)
                    self.stats.spooled += len(records) - i
                    self.spool.resolved(segment, len(records) - i)
                    if not self._offline:
                        self._go_offline("producer queue full while draining")
                    return
                self.stats.sent += 1
            budget -= len(records)
            self._poll(0)

    def idle(self, seconds: float) -> None:
        """Wait while serving the producer (used for pacing)."""
        deadline = time.monotonic() + seconds
        while True:
            self.service()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._poll(min(left, 0.1))

    def close(self, timeout_s: float = 30.0, stop: threading.Event | None = None) -> SendStats:
        """Drain and flush within ``timeout_s``; what is left unacknowledged goes to the spool.

        Offline, Kafka is probed until the deadline: a broker that is restarting comes back
        within seconds, and its spool should not wait for the next run. A stop request made
        while waiting (``stop`` set, or ``KeyboardInterrupt`` under Python's default SIGINT
        handler) gives up at once and keeps the spool. Under ``shutdown.stop_on_signals`` a
        stop after the one that ended the run kills the process (the spool on disk keeps what
        the offline purges put there)."""
        deadline = time.monotonic() + timeout_s
        # A stop asked for before close() is what ended the run: only a later one means
        # "stop waiting".
        later_stop = stop if stop is not None and not stop.is_set() else None
        gave_up = told = False
        try:
            while not self._direct and time.monotonic() < deadline:
                if later_stop is not None and later_stop.is_set():
                    gave_up = True
                    break
                if self._offline and not told:
                    told = True
                    self._log(
                        f"Kafka unreachable: trying for up to {timeout_s:.0f} s to send "
                        f"{self.spool.unread} spooled messages (Ctrl-C keeps them for the "
                        "next run)"
                    )
                self.service()
                self._poll(0.05)
        except KeyboardInterrupt:
            gave_up = True
        if gave_up:
            self._log("stopped waiting for Kafka: the spool is kept for the next run")
            deadline = time.monotonic()
        wait = max(0.0, deadline - time.monotonic())
        remaining = self._producer.flush(wait)
        if remaining:
            # Whatever Kafka did not confirm is kept (its delivery report puts it in the spool).
            self._producer.purge(in_queue=True, in_flight=True, blocking=True)
            self._producer.flush(5.0)
        self.spool.close()
        self.stats.dropped = self.spool.dropped
        self.stats.left_in_spool = self.spool.unread
        return self.stats


def make_sensors(
    settings: Settings, spool: Spool, *, log: Callable[[str], None], **overrides: ConfigValue
) -> TruckSensors:
    """Sensors producing to the settings' telemetry topic with the durable producer."""
    holder: list[TruckSensors] = []

    def on_error(error: KafkaIssue) -> None:
        if holder:
            holder[0].on_error(error)

    producer = durable_producer(settings, config={**THROUGHPUT, **overrides}, on_error=on_error)
    sensors = TruckSensors(producer, settings.topic_telemetry, spool, log=log)
    holder.append(sensors)
    return sensors


def pace(
    fleet: FleetSim,
    duration_s: float | None,
    speedup: float,
    stop: threading.Event,
    idle: Callable[[float], None],
) -> Iterator[list[Emission]]:
    """The fleet's ticks, each released no earlier than its wall-clock moment.

    With ``speedup`` s, tick time t is due at (t - start) / s after the run began, and never
    before the wall clock reaches t: event time never runs ahead of the wall clock.
    ``speedup`` 0 runs as fast as possible.
    """
    wall0 = time.monotonic()
    epoch0 = time.time()
    for t, batch in fleet.ticks(duration_s):
        if stop.is_set():
            return
        if speedup > 0:
            due = max(wall0 + (t - fleet.start) / speedup, wall0 + (t - epoch0))
            while not stop.is_set():
                left = due - time.monotonic()
                if left <= 0:
                    break
                idle(min(left, 0.2))
            if stop.is_set():
                return
        yield batch
