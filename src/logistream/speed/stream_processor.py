"""The speed layer's stream processor: truck_telemetry -> rules -> Redis views and truck_alerts.

Per batch: decode, run the rules (pure), write the views in one Redis pipeline, publish the alert
changes and wait for Kafka to accept them, and only then store the batch's offsets. Rule state is
checkpointed with the offsets it covers (``checkpoint``) every few seconds and on revoke; on
assign the processor restores it and resumes from those offsets, so an excursion straddling a
restart still alerts, once (alert ids come from the data).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from logistream import live_views as lv
from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import InvalidReading, KafkaClientFailed, LogiStreamError, StackError
from logistream.events import Alert, AlertCommand, decode_command, decode_reading, encode
from logistream.kafka import ensure_topics, is_fatal, make_consumer, make_producer
from logistream.registry import Registry, cached_registry
from logistream.registry.rules import RulesConfig, load_rules_config
from logistream.speed import engine
from logistream.speed.checkpoint import CheckpointStore, PartitionMark
from logistream.speed.metrics import Metrics
from logistream.speed.rules import offline
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

log = logging.getLogger("logistream.speed")

PENDING_ACKS_MAX: Final = 10_000
PENDING_ACK_TTL_S: Final = 86_400.0
COMMANDS_REPLAY_S: Final = 86_400.0


def _raise_if_fatal(error: Any) -> None:
    """A consumer that failed for good reads nothing more: stop loudly rather than sit idle
    (state is checkpointed; a restarted process resumes from the checkpoint)."""
    if is_fatal(error):
        raise KafkaClientFailed(
            f"the Kafka consumer failed for good ({error.str()}); restart `logistream speed`, "
            "it resumes from its checkpoint"
        )


class BatchAbandoned(LogiStreamError):
    """Asked to stop while a store refused the batch in hand: it is left uncommitted."""


@dataclass
class Batch:
    """What one batch changed, to be delivered together."""

    touched: dict[str, TruckState] = field(default_factory=dict)
    history: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    changes: list[Alert] = field(default_factory=list)
    change_record_ts: list[float] = field(default_factory=list)
    advance: dict[int, int] = field(default_factory=dict)
    oldest_record_ts: float | None = None


@dataclass
class InFlight:
    """A delivered-to-Redis batch whose alert changes Kafka has not all acknowledged yet."""

    advance: dict[int, int]
    changes: list[Alert]
    pending: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Progress:
    processed: int = 0
    skipped: int = 0
    late: int = 0
    last_partition: int | None = None
    last_offset: int | None = None
    last_record_ts: float | None = None
    last_event_ts: float | None = None


class SpeedProcessor:
    def __init__(
        self,
        settings: Settings,
        *,
        endpoints: Endpoints | None = None,
        registry: Registry | None = None,
        rules: RulesConfig | None = None,
        instance: str | None = None,
        batch_size: int = 2000,
        checkpoint_interval_s: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints or resolve_endpoints(settings)
        self.registry = registry or cached_registry(settings.registry_dir)
        self.rules = rules or load_rules_config()
        self.contexts = engine.Contexts(self.registry, self.rules)
        self.instance = instance or f"{socket.gethostname()}-{os.getpid()}"
        self.group = settings.speed_group
        self.topic = settings.topic_telemetry
        self.batch_size = batch_size
        self.checkpoint_interval_s = checkpoint_interval_s
        self.metrics = metrics or Metrics()

        self.trucks: dict[str, TruckState] = {}
        self.dirty: set[str] = set()
        self.assigned: set[int] = set()
        self.next_offsets: dict[int, int] = {}
        self.part_max_ts: dict[int, float] = {}
        self.consumed: dict[int, int] = {}
        """Next offset to read per partition (``next_offsets`` trails it until Kafka acks)."""
        self.lag: dict[int, int] = {}
        self.pending_acks: dict[str, AlertCommand] = {}
        self.progress = Progress()
        self.failed = False
        self._last_sweep_wm = float("-inf")
        self._stop = threading.Event()
        self._inflight: deque[InFlight] = deque()

        self.consumer: Any = None
        self.commands: Any = None
        self.producer: Any = None
        self.views: ViewWriter | None = None
        self.store: CheckpointStore | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def _open(self) -> None:
        import redis

        self.producer = make_producer(self.settings, self.endpoints, **{"linger.ms": 1})
        self.store = CheckpointStore(self.settings, self.endpoints, self.group, self.producer)
        self.store.ensure_topic()
        ensure_topics(
            self.settings,
            [self.topic, self.settings.topic_alerts, self.settings.topic_commands],
            endpoints=self.endpoints,
        )
        self.views = ViewWriter(redis.Redis.from_url(self.endpoints.redis_url))
        self.consumer = make_consumer(
            self.settings,
            self.group,
            self.endpoints,
            **{
                "statistics.interval.ms": 1000,
                "stats_cb": self._on_stats,
                # A crashed processor's partitions move to the others within seconds.
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 2_000,
            },
        )
        self.consumer.subscribe(
            [self.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._open_commands()

    def _open_commands(self) -> None:
        """Every processor reads every acknowledgement (a day back) and applies its own."""
        from confluent_kafka import TopicPartition

        self.commands = make_consumer(
            self.settings, f"{self.group}.commands.{self.instance}", self.endpoints
        )
        meta = self.commands.list_topics(self.settings.topic_commands, timeout=30)
        parts = meta.topics[self.settings.topic_commands].partitions
        since_ms = int((time.time() - COMMANDS_REPLAY_S) * 1000)
        wanted = [TopicPartition(self.settings.topic_commands, p, since_ms) for p in parts]
        self.commands.assign(self.commands.offsets_for_times(wanted, timeout=30))

    def stop(self) -> None:
        self._stop.set()

    def run(self, stop: threading.Event | None = None) -> None:
        """Process until ``stop`` (or :meth:`stop`) is set; then checkpoint, commit and close."""
        stop = stop or self._stop
        self._open()
        last_beat = 0.0
        last_checkpoint = time.monotonic()
        try:
            while not stop.is_set() and not self._stop.is_set():
                self._poll_commands()
                msgs = self._next_batch()
                if msgs:
                    self._process(msgs)
                now = time.monotonic()
                if now - last_beat >= 1.0:
                    last_beat = now
                    self._heartbeat()
                    self._check_views()
                if now - last_checkpoint >= self.checkpoint_interval_s:
                    try:
                        self._checkpoint(self.assigned)
                    except StackError as error:
                        # Kafka away (a broker restarting): keep processing; the changed trucks
                        # stay dirty and the next checkpoint saves them with newer offsets.
                        log.warning("checkpoint postponed: %s", error)
                    last_checkpoint = now
        except BaseException:
            self.failed = True
            raise
        finally:
            self._close()

    def _close(self) -> None:
        try:
            if not self.failed and self.consumer is not None:
                self._checkpoint(self.assigned)
        finally:
            if self.consumer is not None:
                self.consumer.close()
            if self.commands is not None:
                self.commands.close()
            if self.producer is not None:
                self.producer.flush(30)
            if self.views is not None:
                try:
                    self.views.forget_heartbeat(self.instance)
                except Exception:  # Redis may be gone; exit cleanly anyway
                    log.warning("could not remove the heartbeat from Redis")

    # ---- rebalancing -------------------------------------------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        assert self.store is not None
        assert self.views is not None
        ids = [tp.partition for tp in partitions]
        found = self.store.load(ids)
        for tp in partitions:
            mark = found.marks.get(tp.partition)
            if mark is not None:
                tp.offset = mark.offset
                self.next_offsets[tp.partition] = mark.offset
                if mark.max_event_ts is not None:
                    self.part_max_ts[tp.partition] = mark.max_event_ts
        restored = []
        for state in found.trucks.values():
            current = self.trucks.get(state.truck_id)
            if current is None or (state.last_ts or 0.0) > (current.last_ts or 0.0):
                self.trucks[state.truck_id] = state
                restored.append(state)
        self.assigned.update(ids)
        consumer.incremental_assign(partitions)
        log.info(
            "assigned partitions %s: restored %d trucks, offsets %s",
            ids,
            len(restored),
            {p: m.offset for p, m in found.marks.items()},
        )
        lost = self.views.missing_partitions(ids)
        if lost:
            self.views.rewrite([s for s in restored if s.partition in lost], lost)
        self._apply_pending(restored)

    def _check_views(self) -> None:
        """When Redis lost our partitions' views (flushed, restarted empty), rewrite them."""
        assert self.views is not None
        try:
            lost = self.views.missing_partitions(self.assigned)
            if lost:
                log.warning("Redis lost the views of partitions %s: rewriting them", sorted(lost))
                self.views.rewrite([s for s in self.trucks.values() if s.partition in lost], lost)
        except Exception as error:
            log.warning("could not check the views in Redis: %s", error)

    def _drop(self, ids: set[int]) -> None:
        for truck_id in [t for t, s in self.trucks.items() if s.partition in ids]:
            del self.trucks[truck_id]
            self.dirty.discard(truck_id)
        for p in ids:
            self.next_offsets.pop(p, None)
            self.consumed.pop(p, None)
            self.part_max_ts.pop(p, None)
            self.lag.pop(p, None)
        self.assigned -= ids

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        ids = {tp.partition for tp in partitions}
        if not self.failed:
            self._checkpoint(ids)
        self._drop(ids)
        log.info("revoked partitions %s", sorted(ids))

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        ids = {tp.partition for tp in partitions}
        self._drop(ids)
        log.warning("lost partitions %s (not committed)", sorted(ids))

    def _checkpoint(self, partitions: set[int]) -> None:
        """Save the changed trucks of these partitions with their offsets, then commit them."""
        from confluent_kafka import KafkaException, TopicPartition

        assert self.store is not None
        self._settle(block=True)  # offsets of every batch in hand, before saving them
        wanted = partitions & self.assigned
        if not wanted:
            return
        states = [
            self.trucks[t]
            for t in self.dirty
            if t in self.trucks and self.trucks[t].partition in wanted
        ]
        marks = {
            p: PartitionMark(self.next_offsets[p], self.part_max_ts.get(p))
            for p in wanted
            if p in self.next_offsets
        }
        if not states and not marks:
            return
        self.store.save(states, marks)
        self.dirty.difference_update(s.truck_id for s in states)
        if marks:
            try:
                self.consumer.commit(
                    offsets=[TopicPartition(self.topic, p, m.offset) for p, m in marks.items()],
                    asynchronous=False,
                )
            except KafkaException as error:
                # A rebalance under way refuses the commit (ILLEGAL_GENERATION): the checkpoint
                # just saved is what a new owner resumes from; the next checkpoint commits again.
                log.warning("offset commit skipped (%s); the checkpoint holds the offsets", error)

    # ---- processing --------------------------------------------------------------------------

    def _next_batch(self) -> list[Any]:
        first = self.consumer.poll(0.1)
        if first is None:
            return []
        more = self.consumer.consume(self.batch_size - 1, timeout=0) if self.batch_size > 1 else []
        # A rebalance inside consume() may have revoked partitions of messages in hand.
        return [m for m in [first, *more] if m.partition() in self.assigned or m.error()]

    def _process(self, msgs: list[Any]) -> None:
        batch = Batch()
        progress = self.progress
        settings = self.settings
        for msg in msgs:
            if msg.error():
                _raise_if_fatal(msg.error())
                log.warning("consumer error: %s", msg.error())
                continue
            partition, offset = msg.partition(), msg.offset()
            batch.advance[partition] = offset + 1
            self.consumed[partition] = offset + 1
            ts_type, ts_ms = msg.timestamp()
            record_ts = ts_ms / 1000.0 if ts_type else None
            if record_ts is not None and (
                batch.oldest_record_ts is None or record_ts < batch.oldest_record_ts
            ):
                batch.oldest_record_ts = record_ts
            progress.last_partition, progress.last_offset = partition, offset
            progress.last_record_ts = record_ts
            value = msg.value()
            try:
                if value is None:
                    raise InvalidReading("empty", "an empty message")
                reading = decode_reading(
                    value,
                    record_ts_ms=ts_ms if ts_type else None,
                    max_bytes=settings.max_message_bytes,
                    future_tolerance_s=settings.future_tolerance_s,
                )
            except InvalidReading as error:
                progress.skipped += 1
                self.metrics.skipped.labels(error.code).inc()
                continue
            truck_id = reading.truck_id
            state = self.trucks.get(truck_id) or engine.new_state(truck_id)
            step = engine.process(
                state, reading, partition, self.contexts.get(truck_id, reading.cargo)
            )
            if not step.accepted:
                progress.late += 1
                self.metrics.late.inc()
                continue
            progress.processed += 1
            progress.last_event_ts = reading.timestamp
            self.trucks[truck_id] = step.state
            self.dirty.add(truck_id)
            batch.touched[truck_id] = step.state
            batch.history.setdefault(truck_id, []).append((reading.timestamp, reading.temp))
            if reading.timestamp > self.part_max_ts.get(partition, float("-inf")):
                self.part_max_ts[partition] = reading.timestamp
            if step.changes:
                self._add_changes(batch, step.changes, record_ts)
        self._sweep(batch)
        self._deliver(batch)
        self.metrics.processed.inc(sum(len(h) for h in batch.history.values()))

    def _add_changes(self, batch: Batch, changes: Iterable[Alert], record_ts: float | None) -> None:
        for change in changes:
            batch.changes.append(change)
            batch.change_record_ts.append(record_ts or time.time())
            if change.state == "open" and change.alert_id in self.pending_acks:
                command = self.pending_acks.pop(change.alert_id)
                state = self.trucks[change.truck_id]
                step = engine.acknowledge(state, command)
                self.trucks[change.truck_id] = step.state
                batch.touched[change.truck_id] = step.state
                for acked in step.changes:
                    batch.changes.append(acked)
                    batch.change_record_ts.append(record_ts or time.time())

    def watermark(self) -> float | None:
        """Event time up to which every truck of our partitions has reported, if it reports.

        The fleet's time (:func:`offline.fleet_clock`: reached by several trucks), except that
        a partition with records still waiting holds it back to that partition's newest (its
        trucks may well have sent later readings that we have not read yet): without this,
        reading one partition's backlog ahead of another's would make the other's trucks look
        silent. A caught-up partition holds nothing back.
        """
        from confluent_kafka import TopicPartition

        if not self.part_max_ts:
            return None
        held: list[float] = []
        for p in self.assigned:
            _low, high = self.consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), cached=True
            )
            position = self.consumed.get(p, self.next_offsets.get(p, 0))
            if high < 0 or position < high:
                newest = self.part_max_ts.get(p)
                if newest is None:
                    return None  # a backlog we know nothing about yet
                held.append(newest)
        fleet = offline.fleet_clock(
            [s.last.timestamp for s in self.trucks.values() if s.last is not None]
        )
        if fleet is None:
            return None
        return min([*held, fleet]) - self.rules.offline.watermark_lateness_s

    def _sweep(self, batch: Batch) -> None:
        """Open sensor_offline for trucks the watermark has left behind."""
        wm = self.watermark()
        if wm is None or wm < self._last_sweep_wm + 1.0:
            return
        self._last_sweep_wm = wm
        limit = self.rules.offline.offline_s
        for truck_id, state in list(self.trucks.items()):
            last = state.last
            if last is None or wm - last.timestamp <= limit:
                continue
            step = engine.on_watermark(state, wm, self.contexts.get(truck_id, last.cargo))
            if step.changes:
                self.trucks[truck_id] = step.state
                self.dirty.add(truck_id)
                batch.touched[truck_id] = step.state
                self._add_changes(batch, step.changes, None)

    def _deliver(self, batch: Batch) -> None:
        """Redis first (what people see), then truck_alerts; offsets are stored once both took
        the batch. Kafka's acknowledgement is not awaited here: the next batch is processed
        meanwhile, and :meth:`_settle` stores offsets of fully delivered batches, in order."""
        if batch.touched or batch.changes:
            self._retry("Redis", lambda: self._write_views(batch))
            visible = time.time()
            for change, record_ts in zip(batch.changes, batch.change_record_ts, strict=True):
                self.metrics.alert_latency.observe(max(0.0, visible - record_ts))
                self.metrics.alerts.labels(change.rule, change.state).inc()
            if batch.oldest_record_ts is not None:
                self.metrics.batch_latency.observe(max(0.0, visible - batch.oldest_record_ts))
        flight = InFlight(batch.advance, batch.changes)
        self._inflight.append(flight)
        if batch.changes:
            self._publish(flight)
        self.producer.poll(0)
        self._settle()

    def _write_views(self, batch: Batch) -> None:
        assert self.views is not None
        self.views.write_batch(batch.touched.values(), batch.history, batch.changes)

    def _publish(self, flight: InFlight) -> None:
        flight.pending = len(flight.changes)
        flight.errors = []

        def delivered(err: Any, _msg: Any) -> None:
            flight.pending -= 1
            if err is not None:
                flight.errors.append(str(err))

        for change in flight.changes:
            while True:
                try:
                    self.producer.produce(
                        self.settings.topic_alerts,
                        key=change.truck_id,
                        value=encode(change),
                        on_delivery=delivered,
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain
                    self.producer.poll(0.05)

    def _settle(self, block: bool = False) -> None:
        """Store the offsets of batches Kafka fully accepted, oldest first; ``block``: all."""
        from confluent_kafka import TopicPartition

        delay = 0.1
        while self._inflight:
            if block and self._inflight[0].pending:
                self.producer.flush(30)
            head = self._inflight[0]
            if head.pending:
                return
            if head.errors:
                # Publish the batch's changes again (same ids and states: consumers drop repeats).
                if self._stop.is_set() and block:
                    self.failed = True
                    raise BatchAbandoned(
                        f"stopped while truck_alerts refused a batch ({head.errors}); it was "
                        "not committed and will be processed again on restart"
                    )
                log.warning("truck_alerts rejected a batch (%s); publishing again", head.errors)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._publish(head)
                continue
            self._inflight.popleft()
            advance = {p: o for p, o in head.advance.items() if p in self.assigned}
            if advance:
                self.consumer.store_offsets(
                    offsets=[TopicPartition(self.topic, p, o) for p, o in advance.items()]
                )
                self.next_offsets.update(advance)

    def _retry(self, what: str, action: Any) -> None:
        """Retry a delivery until it succeeds; if asked to stop meanwhile, the batch failed."""
        delay = 0.1
        while True:
            try:
                action()
                return
            except Exception as error:  # any store failure is retried the same way
                if self._stop.is_set():
                    self.failed = True
                    raise BatchAbandoned(
                        f"stopped while {what} refused the batch ({error}); it was not "
                        "committed and will be processed again on restart"
                    ) from error
                log.warning("%s rejected the batch (%s); retrying in %.1f s", what, error, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # ---- acknowledgements ---------------------------------------------------------------------

    def _poll_commands(self) -> None:
        msgs = self.commands.consume(100, timeout=0)
        if not msgs:
            return
        batch = Batch()
        for msg in msgs:
            if msg.error() or msg.value() is None:
                continue
            try:
                command = decode_command(msg.value())
            except Exception:  # a bad command is skipped, never fatal
                log.warning("skipping a malformed alert command at offset %s", msg.offset())
                continue
            self._apply_command(command, batch)
        self._deliver(batch)

    def _apply_command(self, command: AlertCommand, batch: Batch) -> None:
        state = self.trucks.get(command.truck_id)
        step = engine.acknowledge(state, command) if state is not None else None
        if step is None or not step.accepted:
            self._remember(command)
            return
        if step.changes:
            self.trucks[command.truck_id] = step.state
            self.dirty.add(command.truck_id)
            batch.touched[command.truck_id] = step.state
            self._add_changes(batch, step.changes, None)

    def _remember(self, command: AlertCommand) -> None:
        """Keep an ack whose alert this process does not hold (yet): a replay may reopen it."""
        if time.time() - command.issued_at > PENDING_ACK_TTL_S:
            return
        if len(self.pending_acks) >= PENDING_ACKS_MAX:
            oldest = min(self.pending_acks, key=lambda k: self.pending_acks[k].issued_at)
            del self.pending_acks[oldest]
        self.pending_acks[command.alert_id] = command

    def _apply_pending(self, states: Iterable[TruckState]) -> None:
        batch = Batch()
        for state in states:
            for alert in list(state.alerts.values()):
                command = self.pending_acks.pop(alert.alert_id, None)
                if command is not None:
                    self._apply_command(command, batch)
        if batch.changes:
            self._deliver(batch)

    # ---- observability -----------------------------------------------------------------------

    def _on_stats(self, raw: str) -> None:
        try:
            stats = json.loads(raw)
            parts = stats.get("topics", {}).get(self.topic, {}).get("partitions", {})
            for key, info in parts.items():
                p = int(key)
                if p >= 0 and p in self.assigned:
                    lag = int(info.get("consumer_lag", -1))
                    self.lag[p] = max(lag, 0)
                    self.metrics.lag.labels(str(p)).set(max(lag, 0))
        except (ValueError, TypeError, AttributeError):
            log.debug("unreadable consumer statistics")

    def _heartbeat(self) -> None:
        assert self.views is not None
        now = time.time()
        p = self.progress
        lag_records = sum(self.lag.values())
        lag_s = now - p.last_record_ts if lag_records and p.last_record_ts else 0.0
        self.metrics.lag_seconds.set(lag_s)
        record = lv.HeartbeatRecord(
            instance=self.instance,
            at=now,
            pid=os.getpid(),
            host=socket.gethostname(),
            partitions=sorted(self.assigned),
            last_topic=self.topic,
            last_partition=p.last_partition,
            last_offset=p.last_offset,
            last_record_ts=p.last_record_ts,
            last_event_ts=p.last_event_ts,
            lag_records=lag_records,
            lag_s=lag_s,
            processed=p.processed,
            skipped=p.skipped,
            late=p.late,
            watermark=self.watermark(),
        )
        try:
            self.views.heartbeat(record)
        except Exception as error:  # a missed heartbeat is not fatal
            log.warning("heartbeat not written: %s", error)
