"""What reaches the trucks this processor holds beside their readings: a dispatcher's stage
override or an ended shipment (the ``shipments`` topic, :mod:`shipments_feed`), a lot rejected at
proof of delivery (``lot_rejected``, from the truck's latest shipment record), and a new
operating mode (``truck_modes``, :mod:`modes_feed`).

Each poll changes the processor's rule state (``trucks`` and ``dirty`` are the processor's own,
shared, as :class:`~logistream.speed.commands.Acknowledgements` shares them) and returns the
:class:`~logistream.speed.delivery.Batch` to deliver; the processor delivers it, so the views
and Kafka see these changes exactly as they see a reading's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from msgspec.structs import replace as replace_struct

from logistream.events import Alert
from logistream.modes.wire import ModeRecord
from logistream.speed import engine, mode_hold
from logistream.speed.commands import Acknowledgements
from logistream.speed.delivery import Batch
from logistream.speed.modes_feed import ModeFeed
from logistream.speed.rules import rejection
from logistream.speed.rules.temperature import TempState
from logistream.speed.shipment_step import apply_override
from logistream.speed.shipments_feed import ShipmentFeed
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

log = logging.getLogger("logistream.speed")


class SideFeeds:
    """Applies shipment and mode records to the trucks held here (see the module docstring)."""

    def __init__(
        self,
        trucks: dict[str, TruckState],
        dirty: set[str],
        acks: Acknowledgements,
        contexts: engine.Contexts,
        shipments: ShipmentFeed,
        modes: ModeFeed,
    ) -> None:
        self.trucks = trucks
        self.dirty = dirty
        self.acks = acks
        self.contexts = contexts
        self.shipments = shipments
        self.modes = modes

    def _put(self, state: TruckState, batch: Batch) -> None:
        self.trucks[state.truck_id] = state
        self.dirty.add(state.truck_id)
        batch.touched[state.truck_id] = state

    def poll_shipments(self, views: ViewWriter) -> Batch:
        """New shipment records: a dispatcher's stage override applies at once to a truck this
        processor holds (others at their next reading); an ended shipment leaves the views."""
        changes = self.shipments.poll()
        batch = Batch()
        for ctx in changes.active:
            state = self.trucks.get(ctx.record.shipment.truck_id)
            track = state.shipment if state is not None else None
            if state is None or track is None or track.progress.shipment_id != ctx.shipment_id:
                continue
            done = apply_override(track, ctx)
            if not done.events:
                continue
            track = done.track
            if track.live is not None:
                progress = track.progress
                live = replace_struct(
                    track.live, stage=progress.stage, stop=progress.stop, since=progress.since
                )
                track = replace_struct(track, live=live)
                batch.shipments[ctx.shipment_id] = live
            self._put(replace_struct(state, shipment=track), batch)
            batch.stage_events.extend(done.events)
        self.pod_alerts(changes.trucks, batch)
        for shipment_id in changes.ended:
            try:
                views.forget_shipment(shipment_id)
            except Exception as error:  # shown until Redis is back; the next end retries
                log.warning("could not remove shipment %s from the views: %s", shipment_id, error)
        return batch

    def poll_modes(self) -> Batch:
        """New mode records: a truck this processor holds shows its mode as of its newest reading
        at once (the alarms are held by event time, at each reading: :mod:`mode_hold`), and a
        temperature alarm opened by a reading inside a mode learned after it is held now
        (:func:`mode_hold.held_late`)."""
        return self.apply_modes(self.modes.poll())

    def apply_modes(self, truck_ids: Iterable[str]) -> Batch:
        """:meth:`poll_modes` for these trucks, whose mode records changed."""
        batch = Batch()
        for truck_id in truck_ids:
            state = self.trucks.get(truck_id)
            if state is None or state.last is None:
                continue
            modes = self.modes.for_truck(truck_id)
            state, changes = self._held_late(state, modes.modes if modes is not None else ())
            mode = mode_hold.active(modes, state.last.timestamp if state.last else 0.0)
            if mode != state.mode or changes:
                self._put(replace_struct(state, mode=mode), batch)
            if changes:
                self.acks.add_changes(batch, changes, None)
        return batch

    def _held_late(
        self, state: TruckState, modes: Iterable[ModeRecord]
    ) -> tuple[TruckState, list[Alert]]:
        """The truck after holding what readings inside these modes opened before the modes
        were known here; the shadow of a mode still running records each such rule as held."""
        assert state.last is not None
        newest = state.last.timestamp
        alerts, held, changes = state.alerts, state.held, []
        for mode in modes:
            if mode.starts_at > newest:
                continue
            alerts, made, rules = mode_hold.held_late(alerts, mode, newest, self.contexts.zone.key)
            changes.extend(made)
            if not rules or not mode.active_at(newest):
                continue
            held = dict(held)
            for probe, names in rules.items():
                shadow = held.get(probe)
                if shadow is None:
                    probe_air = state.probes.get(probe)
                    live = state.temp if not probe else probe_air.temp if probe_air else None
                    shadow = mode_hold.start(live or TempState(), mode.mode_id)
                elif shadow.mode_id != mode.mode_id:
                    continue  # the previous mode's shadow ends at the next reading first
                recorded = tuple(dict.fromkeys((*shadow.held, *names)))
                held[probe] = replace_struct(shadow, held=recorded)
        if not changes:
            return state, changes
        return replace_struct(state, alerts=alerts, held=held), changes

    def pod_alerts(self, truck_ids: Iterable[str], batch: Batch) -> None:
        """lot_rejected from the latest shipment record of these trucks, where this processor
        holds the truck (another processor holds the others; a truck not heard of yet has no
        place to name, and is alerted with its first reading here)."""
        now = time.time()
        for truck_id in truck_ids:
            state = self.trucks.get(truck_id)
            record = self.shipments.latest.get(truck_id)
            if state is None or state.last is None or record is None:
                continue
            step = engine.apply_rule(
                state,
                rejection.step(record, state.alerts.get(rejection.RULE), now),
                self.contexts.get(truck_id, state.last.cargo),
            )
            if step.changes:
                self._put(step.state, batch)
                self.acks.add_changes(batch, step.changes, None)
