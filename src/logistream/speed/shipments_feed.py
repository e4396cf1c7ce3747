"""The shipments as the speed layer learns them: the compacted ``shipments`` topic, read whole.

One writer stores shipments (PostgreSQL) and publishes each change on the topic
(:mod:`logistream.shipments.publish`); every speed processor reads every partition from the
start, with no committed offsets (the compacted topic is the current state; the reading is
:mod:`compacted_feed`'s, shared with the modes feed), and keeps each truck's active shipment. At
start it reads up to the end before the first reading is processed, so no reading of a tracked
truck passes untracked. A record that does not decode (a registry
that lost the truck, a bad message) is skipped with a warning: the writer validated it, so it
is a configuration matter for a person, not a reason to stop the fleet's alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from logistream.config import Endpoints, Settings
from logistream.registry import Registry
from logistream.registry.rules import RulesConfig
from logistream.shipments.errors import ShipmentError
from logistream.shipments.publish import ensure_topic
from logistream.shipments.wire import ShipmentRecord, decode_record
from logistream.speed.compacted_feed import CompactedFeed
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
        self.feed = CompactedFeed()

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
        apply = partial(self._apply, changes=FeedChanges())
        self.feed.open(
            settings, endpoints, f"{group}.shipments.{instance}", topic, apply, timeout_s
        )
        log.info("shipments: %d active, tracked from topic %s", len(self.by_truck), topic)

    def poll(self) -> FeedChanges:
        """The changes published since the last poll (without waiting)."""
        changes = FeedChanges()
        self.feed.poll(partial(self._apply, changes=changes))
        return changes

    def close(self) -> None:
        self.feed.close()

    def _apply(self, value: bytes | None, offset: int, *, changes: FeedChanges) -> None:
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
