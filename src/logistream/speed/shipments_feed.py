"""The shipments as the speed layer learns them: the compacted ``shipments`` topic, read whole.

One writer stores shipments (PostgreSQL) and publishes each change on the topic
(:mod:`logistream.shipments.publish`); every speed processor reads every partition from the
start, with no committed offsets (the compacted topic is the current state), and keeps each
truck's active shipment. At start it reads up to the end before the first reading is processed,
so no reading of a tracked truck passes untracked. A record that does not decode (a registry
that lost the truck, a bad message) is skipped with a warning: the writer validated it, so it
is a configuration matter for a person, not a reason to stop the fleet's alerts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from logistream.config import Endpoints, Settings
from logistream.errors import StackError, StoreUnavailable
from logistream.kafka import Consumer, TopicOffset, group_consumer
from logistream.registry import Registry
from logistream.registry.rules import RulesConfig
from logistream.shipments.errors import ShipmentError
from logistream.shipments.publish import ensure_topic
from logistream.shipments.wire import ShipmentRecord, decode_record
from logistream.speed.shipment_step import ShipmentContext

log = logging.getLogger("logistream.speed")


@dataclass
class FeedChanges:
    """What one poll of the topic changed."""

    active: list[ShipmentContext] = field(default_factory=list)
    """Shipments created or changed (a new version), still active."""
    ended: list[str] = field(default_factory=list)
    """Shipment ids no longer active (cancelled or delivered)."""
    trucks: set[str] = field(default_factory=set)
    """Trucks whose latest shipment record changed."""


def _bounds(
    consumer: Consumer, topic: str, deadline: float
) -> tuple[list[TopicOffset], dict[int, int]]:
    """Each partition's first offset and its end. A topic just created takes a moment to show
    in the metadata and to have its partitions' leaders: asked again until ``deadline``."""
    while True:
        try:
            partitions = consumer.partitions(topic, 10)
            starts = consumer.offsets_for_times([TopicOffset(topic, p, 0) for p in partitions], 10)
            ends = {p: consumer.watermarks(topic, p, timeout_s=10)[1] for p in partitions}
            return starts, ends
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class ShipmentFeed:
    """Each truck's active shipment, from the ``shipments`` topic."""

    def __init__(self, registry: Registry, rules: RulesConfig) -> None:
        self.registry = registry
        self.rules = rules
        self.by_truck: dict[str, ShipmentContext] = {}
        self._truck_of: dict[str, str] = {}
        """shipment id -> truck id, of the active ones."""
        self.latest: dict[str, ShipmentRecord] = {}
        """Each truck's latest shipment record, whatever its status (its proofs of delivery
        outlive the shipment: a rejection is alerted after delivery too)."""
        self.consumer: Consumer | None = None

    def open(
        self,
        settings: Settings,
        endpoints: Endpoints,
        group: str,
        instance: str,
        timeout_s: float = 30.0,
    ) -> None:
        """Assign every partition from its start and read up to the end."""
        ensure_topic(settings, endpoints)
        topic = settings.topic_shipments
        consumer = group_consumer(settings, f"{group}.shipments.{instance}", endpoints)
        self.consumer = consumer
        deadline = time.monotonic() + timeout_s
        starts, ends = _bounds(consumer, topic, deadline)
        consumer.assign(starts)
        # A partition with no record at or after time 0 (empty, or compacted away) is read.
        position = {s.partition: s.offset if s.offset >= 0 else ends[s.partition] for s in starts}
        while any(position.get(p, 0) < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                raise StackError(
                    f"reading topic {topic} to its end took over {timeout_s:.0f} s; is Kafka up?"
                )
            for msg in consumer.consume(500, 0.5):
                position[msg.partition()] = msg.offset() + 1
                self._apply(msg.value(), msg.offset(), FeedChanges())
        log.info("shipments: %d active, tracked from topic %s", len(self.by_truck), topic)

    def poll(self) -> FeedChanges:
        """The changes published since the last poll (without waiting)."""
        changes = FeedChanges()
        if self.consumer is None:
            return changes
        for msg in self.consumer.consume(100, 0):
            self._apply(msg.value(), msg.offset(), changes)
        return changes

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None

    def _apply(self, value: bytes | None, offset: int, changes: FeedChanges) -> None:
        if value is None:
            return  # a tombstone: nothing was ever deleted that way, nothing to do
        try:
            record = decode_record(value, self.registry)
        except ShipmentError as error:
            log.warning("shipments: skipping the record at offset %d: %s", offset, error)
            return
        shipment = record.shipment
        latest = self.latest.get(shipment.truck_id)
        if latest is None or (
            latest.shipment.shipment_id == shipment.shipment_id
            or record.updated_at >= latest.updated_at
        ):
            self.latest[shipment.truck_id] = record
            changes.trucks.add(shipment.truck_id)
        old_truck = self._truck_of.pop(shipment.shipment_id, None)
        held = self.by_truck.get(old_truck) if old_truck is not None else None
        if old_truck is not None and held is not None and held.shipment_id == shipment.shipment_id:
            del self.by_truck[old_truck]
        if record.status != "active":
            changes.ended.append(shipment.shipment_id)
            return
        ctx = ShipmentContext.of(record, self.registry, self.rules)
        self.by_truck[shipment.truck_id] = ctx
        self._truck_of[shipment.shipment_id] = shipment.truck_id
        changes.active.append(ctx)

    def for_truck(self, truck_id: str) -> ShipmentContext | None:
        return self.by_truck.get(truck_id)
