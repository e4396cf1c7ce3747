"""Delivering one batch's effects: views to Redis, alert changes to truck_alerts and shipment
stage changes to shipment_events, then offsets.

Redis first (what people see), then Kafka. Kafka's acknowledgement is not awaited per
batch: the next batch is processed meanwhile, and the :class:`OffsetBook` settles batches in
order, so a batch's offsets are stored only once Kafka has all its alert changes. A store that
refuses a batch is retried with :class:`Backoff`; when a stop is asked for meanwhile (the
processor's ``stopping``: a signal or its own stop), the batch is abandoned
(:class:`BatchAbandoned`), uncommitted, and processed again on restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from logistream.backoff import Backoff
from logistream.errors import BatchAbandoned
from logistream.events import Alert, StageEvent, encode
from logistream.kafka import Consumer, DeliveryCallback, Producer, TopicOffset
from logistream.live_views.interface import HistoryKey
from logistream.live_views.records import ShipmentLive
from logistream.speed.metrics import Metrics
from logistream.speed.offsets import InFlight, OffsetBook
from logistream.speed.state import TruckState

log = logging.getLogger("logistream.speed")


@dataclass
class Batch:
    """What one batch changed, to be delivered together."""

    touched: dict[str, TruckState] = field(default_factory=dict)
    history: dict[HistoryKey, list[tuple[float, float]]] = field(default_factory=dict)
    """(truck_id, probe_id or None) -> (event time, °C): each probe's temperature history."""
    changes: list[Alert] = field(default_factory=list)
    change_record_ts: list[float] = field(default_factory=list)
    stage_events: list[StageEvent] = field(default_factory=list)
    shipments: dict[str, ShipmentLive] = field(default_factory=dict)
    """Each touched shipment's newest live state, by shipment id."""
    advance: dict[int, int] = field(default_factory=dict)
    oldest_record_ts: float | None = None


def produce_changes(
    producer: Producer, topic: str, changes: list[Alert], on_delivery: DeliveryCallback
) -> None:
    """Queue every change on the producer; a full local queue waits for room (delivery
    reports are served meanwhile), never an error."""
    for change in changes:
        producer.produce(topic, encode(change), change.truck_id, on_delivery=on_delivery)


def _retry_backoff() -> Backoff:
    return Backoff(initial_s=0.1, cap_s=5.0)


class Delivery:
    """Delivers batches and settles their offsets; ``stopping`` says a stop was asked for."""

    def __init__(
        self,
        *,
        producer: Producer,
        consumer: Consumer,
        topic: str,
        alerts_topic: str,
        stage_events_topic: str,
        book: OffsetBook,
        metrics: Metrics,
        write_views: Callable[[Batch], None],
        stopping: Callable[[], bool],
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.topic = topic
        self.alerts_topic = alerts_topic
        self.stage_events_topic = stage_events_topic
        self.book = book
        self.metrics = metrics
        self.write_views = write_views
        self.stopping = stopping
        self.abandoned = False
        """A batch was abandoned: nothing more may be checkpointed or committed."""

    def deliver(self, batch: Batch) -> None:
        """Views to Redis (retried), alert changes to Kafka; then settle what Kafka acknowledged."""
        if batch.touched or batch.changes or batch.stage_events:
            self._retry("Redis", lambda: self.write_views(batch))
            visible = time.time()
            for change, record_ts in zip(batch.changes, batch.change_record_ts, strict=True):
                self.metrics.alert_latency.observe(max(0.0, visible - record_ts))
                self.metrics.alerts.labels(change.rule, change.state).inc()
            if batch.oldest_record_ts is not None:
                self.metrics.batch_latency.observe(max(0.0, visible - batch.oldest_record_ts))
        flight = self.book.begin(batch.advance, batch.changes, batch.stage_events)
        if batch.changes or batch.stage_events:
            self._publish(flight)
        self.producer.poll(0)
        self.settle()

    def settle(self, block: bool = False) -> None:
        """Store the offsets of batches Kafka fully accepted, oldest first; ``block``: wait for
        every batch in hand (a checkpoint is about to save the offsets)."""
        backoff = _retry_backoff()
        while (head := self.book.head) is not None:
            if block and head.waiting:
                self.producer.flush(30)
            if head.waiting:
                return
            if head.refused:
                # Publish the batch's changes again (same ids and states: consumers drop repeats).
                if block and self.stopping():
                    raise self._abandon(
                        "truck_alerts",
                        f"stopped while truck_alerts refused a batch ({head.errors}); it was "
                        "not committed and will be processed again on restart",
                    )
                log.warning("truck_alerts rejected a batch (%s); publishing again", head.errors)
                self._sleep(backoff.next_delay())
                self._publish(head)
                continue
            self._store(self.book.settle())

    def _store(self, offsets: dict[int, int]) -> None:
        if offsets:
            self.consumer.store_offsets([TopicOffset(self.topic, p, o) for p, o in offsets.items()])

    def _publish(self, flight: InFlight) -> None:
        flight.expect_deliveries()
        produce_changes(self.producer, self.alerts_topic, flight.changes, flight.on_delivery)
        for event in flight.stage_events:
            self.producer.produce(
                self.stage_events_topic,
                encode(event),
                event.shipment_id,
                on_delivery=flight.on_delivery,
            )

    def _retry(self, what: str, action: Callable[[], None]) -> None:
        """Retry a delivery until it succeeds; if asked to stop meanwhile, the batch failed."""
        backoff = _retry_backoff()
        while True:
            try:
                action()
                return
            except Exception as error:  # any store failure is retried the same way
                if self.stopping():
                    raise self._abandon(
                        what,
                        f"stopped while {what} refused the batch ({error}); it was not "
                        "committed and will be processed again on restart",
                    ) from error
                delay = backoff.next_delay()
                log.warning("%s rejected the batch (%s); retrying in %.1f s", what, error, delay)
                self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        """Wait before a retry, cut short by a stop (the retry then abandons the batch)."""
        end = time.monotonic() + seconds
        while not self.stopping() and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def _abandon(self, what: str, detail: str) -> BatchAbandoned:
        self.abandoned = True
        return BatchAbandoned(what, detail)
