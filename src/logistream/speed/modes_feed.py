"""The trucks' operating modes as the speed layer learns them: the compacted ``truck_modes`` topic.

The modes' writer (:mod:`logistream.modes.publish`) sends each approved mode's record, key =
truck id; the newest record per truck is its current mode (only approved modes are on the topic).
Read whole at start before the first reading, then polled, as the shipments feed
(:mod:`compacted_feed`). The record is kept whether or not it is active now: the engine asks it
about each reading's EVENT time (``ModeRecord.active_at``), so a mode ends by itself at its end
time, and a reading from before the mode (a spool) is judged as it was. A mode ended early comes
as a new version of its record with ``ended_at`` set. A record of the same mode with a lower
version than the one held (a record sent twice, in an old order) is ignored. A record that does
not decode is skipped with a warning (the writer validated it).

Every mode of a truck read here is kept (its highest version; the newest
:data:`MODES_KEPT` starts per truck), not only the newest, and handed to the engine as one
:class:`~logistream.speed.mode_hold.ModeHistory`: a late reading from an earlier mode is held
after a newer mode was set. The topic is compacted by truck, so a processor started after
compaction knows only each truck's newest mode: a late reading from a mode compacted away
before this processor started is not held (its alarms open as usual).
"""

from __future__ import annotations

import logging
from typing import Final

import msgspec

from logistream.config import Endpoints, Settings
from logistream.modes.publish import ensure_topic
from logistream.modes.wire import ModeRecord, decode_record
from logistream.speed.compacted_feed import CompactedFeed
from logistream.speed.mode_hold import ModeHistory, history

log = logging.getLogger("logistream.speed")

MODES_KEPT: Final = 64
"""A truck's modes kept here (the newest starts): far more than a spool's days can reach."""


class ModeFeed:
    """Each truck's newest operating mode record, from the ``truck_modes`` topic."""

    def __init__(self) -> None:
        self.by_truck: dict[str, ModeRecord] = {}
        """Each truck's newest record (the last read)."""
        self.modes: dict[str, dict[str, ModeRecord]] = {}
        """Each truck's modes by id (each at its highest version)."""
        self._history: dict[str, ModeHistory | None] = {}
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
        topic = settings.topic_truck_modes
        self.feed.open(
            settings, endpoints, f"{group}.modes.{instance}", topic, self.apply, timeout_s
        )
        log.info("modes: %d trucks with a mode record, from topic %s", len(self.by_truck), topic)

    def poll(self) -> set[str]:
        """The trucks whose mode record changed since the last poll (without waiting)."""
        changed: set[str] = set()

        def apply(value: bytes | None, offset: int) -> None:
            truck = self.apply(value, offset)
            if truck is not None:
                changed.add(truck)

        self.feed.poll(apply)
        return changed

    def close(self) -> None:
        self.feed.close()

    def apply(self, value: bytes | None, offset: int) -> str | None:
        """Take one record; the truck whose mode record it changed (None: nothing changed)."""
        if value is None:
            return None  # a tombstone: modes are ended by a record, never deleted
        try:
            record = decode_record(value)
        except msgspec.DecodeError as error:
            log.warning("modes: skipping the record at offset %d: %s", offset, error)
            return None
        truck = record.truck_id
        modes = self.modes.setdefault(truck, {})
        held = modes.get(record.mode_id)
        if held is not None and held.version > record.version:
            return None
        self.by_truck[truck] = record
        modes[record.mode_id] = record
        if len(modes) > MODES_KEPT:
            oldest = min(modes.values(), key=lambda m: m.starts_at)
            del modes[oldest.mode_id]
        self._history.pop(truck, None)
        return truck

    def for_truck(self, truck_id: str) -> ModeHistory | None:
        """The truck's modes (None: none): the engine picks the one active at a reading's event
        time (``mode_hold.active``)."""
        try:
            return self._history[truck_id]
        except KeyError:
            found = history(self.modes.get(truck_id, {}).values())
            self._history[truck_id] = found
            return found
