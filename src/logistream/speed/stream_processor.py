"""The speed layer's stream processor: truck_telemetry -> rules -> Redis views and truck_alerts.

One idea, the consumer-group member's loop (open, poll, process, rebalance, checkpoint, close),
which holds the rule state; everything else is in the modules it names. Per batch it decodes,
runs the rules (pure, ``engine``), then hands the batch to :mod:`delivery` (views in one Redis
pipeline, alert changes to Kafka), whose offsets the :class:`OffsetBook` settles once Kafka
acknowledged them. Rule state is checkpointed with the offsets it covers (``checkpoint``) every
few seconds and on revoke; on assign the processor restores it and resumes from those offsets,
so an excursion straddling a restart still alerts, once (alert ids come from the data).
Acknowledgements come in through :mod:`commands`, shipments through :mod:`shipments_feed` (each
truck's active shipment: its stage, pre-cooling and ETAs, :mod:`shipment_step`), operating modes
through :mod:`modes_feed` (each truck's mode, which holds its temperature alarms,
:mod:`mode_hold`); :mod:`side_feeds` applies what those two bring to the trucks held here;
:mod:`heartbeat` says how the processor is doing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import (
    ConsumerFailed,
    InvalidReading,
    KafkaClientFailed,
    StackError,
    StoreUnavailable,
)
from logistream.events import decode_reading
from logistream.kafka import (
    Consumer,
    Producer,
    Received,
    TopicOffset,
    durable_producer,
    ensure_topics,
    group_consumer,
)
from logistream.registry import Registry, cached_registry
from logistream.registry.rules import RulesConfig, load_rules_config
from logistream.speed import engine
from logistream.speed.checkpoint import CheckpointStore
from logistream.speed.commands import Acknowledgements, open_commands, poll_commands
from logistream.speed.delivery import Batch, Delivery
from logistream.speed.heartbeat import Progress, heartbeat_record, partition_lag
from logistream.speed.metrics import Metrics
from logistream.speed.modes_feed import ModeFeed
from logistream.speed.offsets import OffsetBook
from logistream.speed.shipments_feed import ShipmentFeed
from logistream.speed.side_feeds import SideFeeds
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter
from logistream.speed.watermark import offline_steps
from logistream.speed.watermark import watermark as event_watermark

log = logging.getLogger("logistream.speed")


class SpeedProcessor:
    """Runs the speed layer as one consumer-group member until stopped (see the module doc)."""

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
        self.contexts = engine.Contexts(self.registry, self.rules, settings.timezone)
        self.instance = instance or f"{socket.gethostname()}-{os.getpid()}"
        self.group = settings.speed_group
        self.topic = settings.topic_telemetry
        self.batch_size = batch_size
        self.checkpoint_interval_s = checkpoint_interval_s
        self.metrics = metrics or Metrics()

        self.trucks: dict[str, TruckState] = {}
        self.dirty: set[str] = set()
        self.offsets = OffsetBook()
        self.lag: dict[int, int] = {}
        self.acks = Acknowledgements(self.trucks, self.dirty)
        self.shipments = ShipmentFeed(self.registry, self.rules)
        self.modes = ModeFeed()
        self.side = SideFeeds(
            self.trucks, self.dirty, self.acks, self.contexts, self.shipments, self.modes
        )
        self.progress = Progress()
        self._failed = False
        self._last_sweep_wm = float("-inf")
        self._fleet_time: float | None = None
        """The fleet's event time at the last sweep (watermark plus lateness)."""
        self._stop = threading.Event()
        self._external_stop: threading.Event | None = None

        self.consumer: Consumer | None = None
        self.commands: Consumer | None = None
        self.producer: Producer | None = None
        self.views: ViewWriter | None = None
        self.store: CheckpointStore | None = None
        self.delivery: Delivery | None = None

    @property
    def assigned(self) -> set[int]:
        return self.offsets.assigned

    @property
    def failed(self) -> bool:
        """The run failed or abandoned a batch: nothing more is checkpointed or committed."""
        return self._failed or (self.delivery is not None and self.delivery.abandoned)

    # ---- lifecycle -------------------------------------------------------------------------

    def _open(self) -> None:
        import redis

        self.producer = durable_producer(self.settings, self.endpoints, config={"linger.ms": 1})
        self.store = CheckpointStore(self.settings, self.endpoints, self.group, self.producer)
        self.store.ensure_topic()
        ensure_topics(
            self.settings,
            [
                self.topic,
                self.settings.topic_alerts,
                self.settings.topic_commands,
                self.settings.topic_shipment_events,
            ],
            endpoints=self.endpoints,
        )
        # Every active shipment is known before the first reading is processed.
        self.shipments.open(self.settings, self.endpoints, self.group, self.instance)
        # So is every truck's operating mode.
        self.modes.open(self.settings, self.endpoints, self.group, self.instance)
        self.views = ViewWriter(redis.Redis.from_url(self.endpoints.redis_url))
        self.consumer = group_consumer(
            self.settings,
            self.group,
            self.endpoints,
            config={
                "statistics.interval.ms": 1000,
                # A fetch waits up to 10 ms for 32 KB (~100 readings) rather than returning each
                # few records at once: at thousands of readings/s the broker then answers a few
                # hundred fetches a second instead of thousands, which cost the shared cores more
                # than the 10 ms they save.
                "fetch.min.bytes": 32_768,
                "fetch.wait.max.ms": 10,
                # A crashed processor's partitions move to the others within seconds.
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 2_000,
            },
            on_stats=self._on_stats,
        )
        self.delivery = Delivery(
            producer=self.producer,
            consumer=self.consumer,
            topic=self.topic,
            alerts_topic=self.settings.topic_alerts,
            stage_events_topic=self.settings.topic_shipment_events,
            book=self.offsets,
            metrics=self.metrics,
            write_views=self._write_views,
            stopping=self.stopping,
        )
        self.consumer.subscribe(
            [self.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self.commands = open_commands(self.settings, self.endpoints, self.group, self.instance)

    def stop(self) -> None:
        self._stop.set()

    def stopping(self) -> bool:
        """A stop was asked for, by :meth:`stop` or by the event :meth:`run` watches: the main
        loop ends, and a batch that a store refuses is abandoned instead of retried."""
        return self._stop.is_set() or (
            self._external_stop is not None and self._external_stop.is_set()
        )

    def run(self, stop: threading.Event | None = None) -> None:
        """Process until ``stop`` (or :meth:`stop`) is set; then checkpoint, commit and close."""
        self._external_stop = stop
        self._open()
        last_beat = 0.0
        last_checkpoint = time.monotonic()
        try:
            while not self.stopping():
                self._poll_commands()
                self._poll_shipments()
                self._poll_modes()
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
            self._failed = True
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
            self.shipments.close()
            self.modes.close()
            if self.producer is not None:
                self.producer.flush(30)
            if self.views is not None:
                try:
                    self.views.forget_heartbeat(self.instance)
                except Exception:  # Redis may be gone; exit cleanly anyway
                    log.warning("could not remove the heartbeat from Redis")

    # ---- rebalancing -------------------------------------------------------------------------

    def _on_assign(self, partitions: list[TopicOffset]) -> None:
        assert self.store is not None
        assert self.views is not None
        assert self.delivery is not None
        assert self.consumer is not None
        ids = [tp.partition for tp in partitions]
        found = self.store.load(ids)
        positions = []
        for tp in partitions:
            resume = self.offsets.assign(tp.partition, found.marks.get(tp.partition))
            positions.append(tp if resume is None else replace(tp, offset=resume))
        restored = []
        for state in found.trucks.values():
            current = self.trucks.get(state.truck_id)
            if current is None or (state.last_ts or 0.0) > (current.last_ts or 0.0):
                self.trucks[state.truck_id] = state
                restored.append(state)
        self.consumer.incremental_assign(positions)
        log.info(
            "assigned partitions %s: restored %d trucks, offsets %s",
            ids,
            len(restored),
            {p: m.offset for p, m in found.marks.items()},
        )
        lost = self.views.missing_partitions(ids)
        if lost:
            self.views.rewrite([s for s in restored if s.partition in lost], lost)
        batch = Batch()
        self.acks.apply_pending(restored, batch)
        self.side.pod_alerts([s.truck_id for s in restored], batch)
        if batch.changes:
            self.delivery.deliver(batch)

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
            self.lag.pop(p, None)
        self.offsets.drop(ids)

    def _on_revoke(self, partitions: list[TopicOffset]) -> None:
        ids = {tp.partition for tp in partitions}
        if not self.failed:
            self._checkpoint(ids)
        self._drop(ids)
        log.info("revoked partitions %s", sorted(ids))

    def _on_lost(self, partitions: list[TopicOffset]) -> None:
        ids = {tp.partition for tp in partitions}
        self._drop(ids)
        log.warning("lost partitions %s (not committed)", sorted(ids))

    def _checkpoint(self, partitions: set[int]) -> None:
        """Save the changed trucks of these partitions with their offsets, then commit them."""
        assert self.store is not None
        assert self.delivery is not None
        assert self.consumer is not None
        self.delivery.settle(block=True)  # offsets of every batch in hand, before saving them
        wanted = partitions & self.assigned
        if not wanted:
            return
        states = [
            self.trucks[t]
            for t in self.dirty
            if t in self.trucks and self.trucks[t].partition in wanted
        ]
        marks = self.offsets.marks(wanted)
        if not states and not marks:
            return
        self.store.save(states, marks)
        self.dirty.difference_update(s.truck_id for s in states)
        if marks:
            try:
                self.consumer.commit(
                    [TopicOffset(self.topic, p, m.offset) for p, m in marks.items()]
                )
            except StoreUnavailable as error:
                # A rebalance under way refuses the commit (ILLEGAL_GENERATION): the checkpoint
                # just saved is what a new owner resumes from; the next checkpoint commits again.
                log.warning("offset commit skipped (%s); the checkpoint holds the offsets", error)

    # ---- processing --------------------------------------------------------------------------

    def _next_batch(self) -> list[Received]:
        assert self.consumer is not None
        try:
            first = self.consumer.poll(0.1)
            if first is None:
                return []
            more = self.consumer.consume(self.batch_size - 1, 0) if self.batch_size > 1 else []
        except ConsumerFailed as failed:
            # It reads nothing more: stop loudly rather than sit idle (state is checkpointed).
            raise KafkaClientFailed(
                f"the Kafka consumer failed for good ({failed.detail}); restart "
                "`logistream speed`, it resumes from its checkpoint"
            ) from failed
        # A rebalance inside consume() may have revoked partitions of messages in hand.
        return [m for m in [first, *more] if m.partition() in self.assigned]

    def _process(self, msgs: list[Received]) -> None:
        assert self.delivery is not None
        batch = Batch()
        progress = self.progress
        settings = self.settings
        max_bytes, tolerance = settings.max_message_bytes, settings.future_tolerance_s
        # Hot loop (every reading): bound names, and the per-partition bookkeeping (offsets
        # read, newest event time, progress) kept in locals and applied once after the loop.
        trucks, dirty, touched, history = self.trucks, self.dirty, batch.touched, batch.history
        contexts, shipments, modes = self.contexts, self.shipments, self.modes
        fleet_time = self._fleet_time
        advance = batch.advance
        newest: dict[int, float] = {}
        oldest: float | None = None
        processed = late = backfilled = 0
        last_event_ts: float | None = None
        partition = offset = -1
        record_ts: float | None = None
        try:
            for msg in msgs:
                partition, offset = msg.partition(), msg.offset()
                advance[partition] = offset + 1
                ts_type, ts_ms = msg.timestamp()
                record_ts = ts_ms / 1000.0 if ts_type else None
                if record_ts is not None and (oldest is None or record_ts < oldest):
                    oldest = record_ts
                value = msg.value()
                try:
                    if value is None:
                        raise InvalidReading("empty", "an empty message")
                    reading = decode_reading(
                        value,
                        record_ts_ms=ts_ms if ts_type else None,
                        max_bytes=max_bytes,
                        future_tolerance_s=tolerance,
                    )
                except InvalidReading as error:
                    progress.skipped += 1
                    self.metrics.skipped.labels(error.code).inc()
                    continue
                truck_id = reading.truck_id
                known = trucks.get(truck_id)
                step = engine.process(
                    known or engine.new_state(truck_id),
                    reading,
                    partition,
                    contexts.get(truck_id, reading.cargo),
                    fleet_time,
                    shipments.for_truck(truck_id),
                    modes.for_truck(truck_id),
                )
                if not step.accepted:
                    late += 1
                    continue
                processed += 1
                ts = reading.timestamp
                if step.late:
                    backfilled += 1
                else:
                    last_event_ts = ts
                state = step.state
                trucks[truck_id] = state
                dirty.add(truck_id)
                touched[truck_id] = state
                if known is None and truck_id in shipments.latest:
                    self.side.pod_alerts([truck_id], batch)
                points = history.get((truck_id, reading.probe_id))
                if points is None:
                    history[truck_id, reading.probe_id] = [(ts, reading.temp)]
                else:
                    points.append((ts, reading.temp))
                if ts > newest.get(partition, float("-inf")):
                    newest[partition] = ts
                if step.changes:
                    self.acks.add_changes(batch, step.changes, record_ts)
                if step.stage_events:
                    batch.stage_events.extend(step.stage_events)
                if step.shipment_live is not None:
                    batch.shipments[step.shipment_live.shipment_id] = step.shipment_live
        finally:
            # What was read, as the per-reading updates would have left it.
            batch.oldest_record_ts = oldest
            for p, next_offset in advance.items():
                self.offsets.read(p, next_offset - 1)
            for p, ts in newest.items():
                self.offsets.saw_event(p, ts)
            if partition >= 0:
                progress.last_partition, progress.last_offset = partition, offset
                progress.last_record_ts = record_ts
            if last_event_ts is not None:
                progress.last_event_ts = last_event_ts
            progress.late += late
            progress.backfilled += backfilled
            progress.processed += processed
            if late:
                self.metrics.late.inc(late)
            if backfilled:
                self.metrics.backfilled.inc(backfilled)
        self._sweep(batch)
        self.delivery.deliver(batch)
        self.metrics.processed.inc(sum(len(h) for h in batch.history.values()))

    def watermark(self) -> float | None:
        """Event time up to which every truck of our partitions has reported (:mod:`watermark`)."""
        consumer = self.consumer
        assert consumer is not None

        def backlogged() -> Iterator[int]:  # lazily: the first unknown backlog decides
            for p in self.assigned:
                _low, high = consumer.watermarks(self.topic, p, cached=True)
                if high < 0 or self.offsets.position(p) < high:
                    yield p

        return event_watermark(
            newest_event=self.offsets.newest_event,
            backlogged=backlogged(),
            last_seen=[s.last.timestamp for s in self.trucks.values() if s.last is not None],
            lateness_s=self.rules.offline.watermark_lateness_s,
        )

    def _sweep(self, batch: Batch) -> None:
        """Open sensor_offline for trucks the watermark has left behind."""
        wm = self.watermark()
        if wm is not None:
            self._fleet_time = wm + self.rules.offline.watermark_lateness_s
        if wm is None or wm < self._last_sweep_wm + 1.0:
            return
        self._last_sweep_wm = wm
        for truck_id, step in offline_steps(
            self.trucks, wm, self.rules.offline.offline_s, self.contexts
        ):
            self.trucks[truck_id] = step.state
            self.dirty.add(truck_id)
            batch.touched[truck_id] = step.state
            self.acks.add_changes(batch, step.changes, None)

    def _write_views(self, batch: Batch) -> None:
        assert self.views is not None
        self.views.write_batch(
            batch.touched.values(),
            batch.history,
            batch.changes,
            batch.shipments.values(),
            batch.stage_events,
        )

    # ---- shipments and modes (:mod:`side_feeds`) ------------------------------------------

    def _poll_shipments(self) -> None:
        assert self.delivery is not None
        assert self.views is not None
        batch = self.side.poll_shipments(self.views)
        if batch.stage_events or batch.changes:
            self.delivery.deliver(batch)

    def _poll_modes(self) -> None:
        assert self.delivery is not None
        batch = self.side.poll_modes()
        if batch.touched:
            self.delivery.deliver(batch)

    # ---- acknowledgements ---------------------------------------------------------------------

    def _poll_commands(self) -> None:
        assert self.delivery is not None
        assert self.commands is not None
        commands = poll_commands(self.commands)
        if commands is None:
            return
        batch = Batch()
        for command in commands:
            self.acks.apply(command, batch)
        self.delivery.deliver(batch)

    # ---- observability -----------------------------------------------------------------------

    def _on_stats(self, raw: str) -> None:
        for p, lag in partition_lag(raw, self.topic, self.assigned).items():
            self.lag[p] = lag
            self.metrics.lag.labels(str(p)).set(lag)

    def _heartbeat(self) -> None:
        assert self.views is not None
        record = heartbeat_record(
            instance=self.instance,
            topic=self.topic,
            now=time.time(),
            progress=self.progress,
            assigned=self.assigned,
            lag=self.lag,
            watermark=self.watermark(),
        )
        self.metrics.lag_seconds.set(record.lag_s)
        try:
            self.views.heartbeat(record)
        except Exception as error:  # a missed heartbeat is not fatal
            log.warning("heartbeat not written: %s", error)
