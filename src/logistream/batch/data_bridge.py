"""The data bridge: Kafka (telemetry and alert changes) -> the PostgreSQL archive, exactly once.

One loop: read up to ``batch_size`` messages or for ``batch_wait_s``; sort them (pure,
:mod:`records`); then, on one writer thread, publish refusals to the DLQ and wait for the broker's
acknowledgement (:mod:`dlq`), and write rows, refusals and the next offsets in ONE PostgreSQL
transaction (:mod:`archive`; a re-sent event id with another timestamp is refused there, and
published to the DLQ before that transaction commits). At most one batch is in the writer
while the next is decoded, and batches commit in order. The offsets stored there are the only
resume point: on every partition assignment the consumer is positioned from them. Kafka's
committed offsets are updated afterwards for lag monitoring only.

Outages: a failed write or DLQ flush is retried with backoff, the same batch, offsets not
advanced; nothing good goes to the DLQ. A consumer that fails for good (a static member fenced
after a broker bounce) is replaced by a new one that joins the group again; it is positioned
from the stored offsets like any other. A stop request (SIGTERM/SIGINT) is honoured between
steps: the batch in hand is committed with its offsets or abandoned whole, and the run returns.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from logistream.backoff import Backoff
from logistream.batch.archive import Archive, WriteResult
from logistream.batch.dlq import DeadLetters
from logistream.batch.records import Consumed, SortedBatch, sort_batch
from logistream.config import Endpoints, Settings
from logistream.errors import ConsumerFailed, KafkaClientFailed, StopRequested, StoreUnavailable
from logistream.kafka import (
    OFFSET_BEGINNING,
    ConfigValue,
    Consumer,
    Producer,
    TopicOffset,
    durable_producer,
    group_consumer,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_IDLE_HEARTBEAT_S: Final = 5.0
_PROGRESS_LOG_S: Final = 10.0
# A consumer that fails for good is replaced, but not forever: this many times in the window.
_REJOINS_ALLOWED: Final = 5
_REJOIN_WINDOW_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    batch_size: int = 5000
    batch_wait_s: float = 0.25
    instance: str = ""
    """host:pid by default; names this process in ``bridge_heartbeat``."""
    static_member_id: str | None = None
    """Kafka ``group.instance.id``: a restarted bridge with the same id gets its partitions
    back at once instead of after the dead member's session timeout."""


@dataclass(slots=True)
class BridgeStats:
    consumed: int = 0
    accepted: int = 0
    rejected: int = 0
    inserted: int = 0
    batches: int = 0


def _retryable(error: BaseException) -> bool:
    """An outage or a transient conflict: wait and try the same batch again."""
    import psycopg
    from confluent_kafka import KafkaException

    if isinstance(error, StoreUnavailable | KafkaException | psycopg.OperationalError):
        return True
    if isinstance(error, psycopg.InterfaceError):  # the connection was closed under us
        return True
    return isinstance(error, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure)


def _kafka_down(error: BaseException) -> bool:
    return isinstance(error, StoreUnavailable) and error.store == "kafka"


class DataBridge:
    """Runs the bridge loop until :meth:`request_stop`; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        endpoints: Endpoints,
        bridge_conninfo: str,
        options: BridgeOptions | None = None,
    ) -> None:
        self._settings = settings
        self._endpoints = endpoints
        self._options = options or BridgeOptions()
        self._instance = (
            self._options.instance
            or self._options.static_member_id
            or f"{socket.gethostname()}:{os.getpid()}"
        )
        self._topics = [settings.topic_telemetry, settings.topic_alerts]
        self._archive = Archive(bridge_conninfo, settings.bridge_group, self._instance)
        self._stop = False
        self._assigned: set[tuple[str, int]] = set()
        self._positions: dict[tuple[str, int], int] = {}
        self._consumer: Consumer | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._pending: tuple[Future[WriteResult], SortedBatch] | None = None
        self.stats = BridgeStats()

    # -- control ----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Finish or abandon the batch in hand, then return from :meth:`run`."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def _with_retry(self, what: str, action: Callable[[], T]) -> T:
        backoff = Backoff()
        while True:
            if self._stop:
                raise StopRequested(what)
            try:
                result = action()
            except Exception as error:
                if not _retryable(error):
                    raise
                delay = backoff.next_delay()
                log.warning("%s failed (%s); retry %d in %.1f s", what, str(error).strip(),
                            backoff.attempts, delay)  # fmt: skip
                if not _kafka_down(error):  # the archive connection is fine then
                    self._archive.reset()
                self._sleep(delay)
                continue
            if backoff.attempts:
                log.info("%s succeeded after %d retries", what, backoff.attempts)
            return result

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    # -- rebalance --------------------------------------------------------------------------

    def _on_assign(self, partitions: list[TopicOffset]) -> None:
        assert self._consumer is not None
        self._finish_pending()  # the archive connection is the writer's until then
        stored = self._with_retry(
            "reading stored offsets", lambda: self._archive.stored_offsets(self._topics)
        )
        positions = []
        for tp in partitions:
            key = (tp.topic, tp.partition)
            positions.append(replace(tp, offset=stored.get(key, OFFSET_BEGINNING)))
            self._positions[key] = stored.get(key, 0)
        self._consumer.incremental_assign(positions)
        self._assigned.update((tp.topic, tp.partition) for tp in positions)
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}"
                                         for tp in positions))  # fmt: skip

    def _on_revoke(self, partitions: list[TopicOffset]) -> None:
        # Let the batch in flight commit (it covers these partitions up to where it read);
        # whatever was not committed is read again by the new owner from the stored offsets.
        self._finish_pending()
        for tp in partitions:
            self._assigned.discard((tp.topic, tp.partition))
            self._positions.pop((tp.topic, tp.partition), None)
        if partitions:
            log.info("revoked %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions))

    # -- the loop ---------------------------------------------------------------------------

    def _lag(self, batch: SortedBatch | None = None) -> int | None:
        """Messages behind the high watermarks once ``batch`` is committed (None: unknown)."""
        assert self._consumer is not None
        total = 0
        known = False
        ahead = batch.next_offsets if batch is not None else {}
        for (topic, partition), stored in list(self._positions.items()):
            position = max(stored, ahead.get((topic, partition), 0))
            try:
                _low, high = self._consumer.watermarks(topic, partition, cached=True)
            except StoreUnavailable:  # not fetched yet: unknown, not zero
                continue
            if high >= 0:
                total += max(0, high - position)
                known = True
        return total if known else None

    def _read_batch(self) -> list[Consumed]:
        """The next records; error events are logged and left out by the consumer, which
        raises :class:`ConsumerFailed` when it failed for good."""
        assert self._consumer is not None
        messages = self._consumer.consume(self._options.batch_size, self._options.batch_wait_s)
        batch: list[Consumed] = []
        assigned = self._assigned
        for m in messages:
            topic, partition = m.topic(), m.partition()
            if (topic, partition) not in assigned:  # revoked during this read
                continue
            ts_type, ts = m.timestamp()
            batch.append(
                Consumed(topic, partition, m.offset(), m.key(), m.value(), ts if ts_type else None)
            )
        return batch

    def _commit(self, batch: SortedBatch, dlq: DeadLetters, lag: int | None) -> WriteResult:
        """DLQ first (flushed), then rows + offsets in one transaction; retried until done.

        Runs on the writer thread; touches only the archive connection and the DLQ producer.
        """
        self._with_retry(
            "publishing to the DLQ",
            lambda: dlq.publish(batch.rejected, should_stop=lambda: self._stop),
        )
        today = int(time.time() // 86_400)
        self._with_retry(
            "creating day partitions",
            lambda: self._archive.ensure_partitions(batch.days, today=today),
        )
        return self._with_retry(
            "writing the batch to PostgreSQL",
            lambda: self._archive.write(
                batch,
                lag_messages=lag,
                now_s=time.time(),
                # Conflicting duplicates are known only inside the transaction.
                dead_letters=lambda refused: dlq.publish(refused, should_stop=lambda: self._stop),
            ),
        )

    def _submit(self, batch: SortedBatch, dlq: DeadLetters) -> None:
        """Hand a batch to the writer; the previous one must be finished first (order)."""
        self._finish_pending()
        assert self._writer is not None
        future = self._writer.submit(self._commit, batch, dlq, self._lag(batch))
        self._pending = (future, batch)

    def _finish_pending(self) -> None:
        """Wait for the batch being written (if any), then account for it (main thread)."""
        if self._pending is None:
            return
        future, batch = self._pending
        self._pending = None
        result = future.result()  # re-raises StopRequested or a non-retryable error
        stats = self.stats
        stats.batches += 1
        stats.consumed += batch.consumed
        stats.accepted += len(batch.readings) + len(batch.alerts) - len(result.conflicts)
        stats.rejected += len(batch.rejected) + len(result.conflicts)
        stats.inserted += result.inserted
        for key, offset in batch.next_offsets.items():
            if key in self._positions:
                self._positions[key] = max(self._positions[key], offset)
        self._commit_to_kafka(batch)

    def _commit_to_kafka(self, batch: SortedBatch) -> None:
        """For lag monitoring only (kafka-consumer-groups); never read back."""
        assert self._consumer is not None
        offsets = [
            TopicOffset(t, p, n) for (t, p), n in batch.next_offsets.items()
            if (t, p) in self._assigned
        ]  # fmt: skip
        if offsets:
            try:
                self._consumer.commit(offsets, asynchronous=True)
            except Exception as error:  # monitoring only: never stop the archive for it
                log.debug("Kafka offset commit skipped: %s", error)

    def _join(self) -> None:
        """A new consumer subscribed to the group (positions come from the stored offsets)."""
        settings = self._settings
        overrides: dict[str, ConfigValue] = {
            "client.id": f"logistream-bridge-{self._instance}",
            # The archive may lag by a second: fetch up to 100 ms for 256 KB (~800 readings), so
            # the broker answers a few fetches a second, not one per handful of records.
            "fetch.min.bytes": 262_144,
            "fetch.wait.max.ms": 100,
            # Waiting out a PostgreSQL outage must not cost the assignment too soon.
            "max.poll.interval.ms": 600_000,
        }
        if self._options.static_member_id:
            overrides["group.instance.id"] = self._options.static_member_id
        self._consumer = group_consumer(
            settings, settings.bridge_group, self._endpoints, config=overrides
        )
        self._consumer.subscribe(
            self._topics,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )

    def _rejoin(self, why: str, rejoins: list[float]) -> None:
        """Replace a consumer that failed for good; give up when it keeps failing."""
        now = time.monotonic()
        rejoins[:] = [t for t in rejoins if now - t < _REJOIN_WINDOW_S] + [now]
        if len(rejoins) > _REJOINS_ALLOWED:
            hint = (
                f"; is another bridge running with --instance-id {self._options.static_member_id}?"
                if self._options.static_member_id
                else ""
            )
            raise KafkaClientFailed(
                f"the Kafka consumer failed {len(rejoins)} times in "
                f"{_REJOIN_WINDOW_S:.0f} s (last: {why}){hint}"
            )
        log.warning("Kafka consumer failed (%s): joining the group again", why)
        self._finish_pending()  # its offsets are stored in PostgreSQL, whoever reads next
        assert self._consumer is not None
        try:
            self._consumer.close()
        except Exception as error:  # a failed consumer may refuse to close cleanly
            log.debug("closing the failed consumer: %s", error)
        self._assigned.clear()
        self._positions.clear()
        self._join()

    def run(self) -> BridgeStats:
        """Archive until a stop is requested; returns the counts of this run."""
        settings = self._settings
        producer = durable_producer(
            settings, self._endpoints, config={"client.id": f"logistream-dlq-{self._instance}"}
        )
        dlq = DeadLetters(producer, settings.topic_dlq)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
        try:
            self._with_retry(
                "preparing day partitions",
                lambda: self._archive.ensure_partitions([], today=int(time.time() // 86_400)),
            )
            self._join()
            self._loop(dlq)
        except StopRequested as stopped:
            log.info("stop requested while %s: batch abandoned, not committed", stopped.waiting_for)
        finally:
            self._close(producer)
        return self.stats

    def _loop(self, dlq: DeadLetters) -> None:
        settings = self._settings
        last_write = last_log = time.monotonic()
        logged = BridgeStats()
        rejoins: list[float] = []
        while not self._stop:
            try:
                messages = self._read_batch()
            except ConsumerFailed as failed:
                self._rejoin(failed.detail, rejoins)
                continue
            now = time.monotonic()
            if not messages:
                self._finish_pending()
                if now - last_write >= _IDLE_HEARTBEAT_S and self._assigned:
                    self._idle_heartbeat()
                    last_write = now
                continue
            batch = sort_batch(
                messages,
                telemetry_topic=settings.topic_telemetry,
                alerts_topic=settings.topic_alerts,
                max_bytes=settings.max_message_bytes,
                future_tolerance_s=settings.future_tolerance_s,
                now_ms=int(time.time() * 1000),
            )
            # Decoding the next batch overlaps PostgreSQL writing this one.
            self._submit(batch, dlq)
            last_write = now
            if now - last_log >= _PROGRESS_LOG_S:
                s = self.stats
                log.info(
                    "archived: %d consumed, %d accepted (%d new rows), %d rejected; "
                    "%.0f msg/s; lag %s",
                    s.consumed, s.accepted, s.inserted, s.rejected,
                    (s.consumed - logged.consumed) / (now - last_log), self._lag(),
                )  # fmt: skip
                logged = BridgeStats(s.consumed)
                last_log = now
        self._finish_pending()

    def _idle_heartbeat(self) -> None:
        try:
            self._archive.write(SortedBatch(), lag_messages=self._lag(), now_s=time.time())
        except Exception as error:
            if not _retryable(error):
                raise
            log.warning("heartbeat not written (%s)", str(error).strip())
            self._archive.reset()

    def _close(self, producer: Producer) -> None:
        if self._pending is not None:  # an error left a batch in flight: let it end first
            self._pending[0].exception()
            self._pending = None
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        try:
            if self._consumer is not None:
                self._consumer.close()
        except Exception as error:
            log.warning("closing the Kafka consumer: %s", error)
        producer.flush(5.0)
        self._archive.close()
        s = self.stats
        log.info("bridge stopped: %d consumed, %d accepted (%d new rows), %d rejected",
                 s.consumed, s.accepted, s.inserted, s.rejected)  # fmt: skip
