"""A shipment's stages replayed from its truck's archived positions, and the carriage of a lot.

The batch side checks the speed layer: it recomputes the stages from the archived GPS readings
with the very stage machine the speed layer runs (:mod:`logistream.shipments.stages`, the
``[shipments]`` dwell of rules.toml), then applies a dispatcher's overrides (``shipment_changes``)
at the moment each was made, in the same event-time order. Pure.

The carriage of a lot, the time its figures and its verdict cover:
- it starts at loading: the arrival at the origin, i.e. the first stage the shipment reached
  after ``planned`` (normally ``at_origin``; where the truck was first seen at a later stop,
  the origin's fence missed, that arrival, so the lot is never judged on less than it rode);
- it ends at its handover: its proof of delivery's signed time; else the truck's arrival at
  the lot's drop stop (``at_stop``/``at_destination`` there, or ``delivered``, which a
  dispatcher may set outright); else ``now`` (the lot is still on the truck);
- no stage reached yet: no carriage (``start`` None), the lot has no readings to judge;
- a handover before the loading (a clock error or an override) makes an empty carriage at the
  loading, never a negative one.
A lot is handed over at the stop whose ``drops`` name it, else at the destination.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from logistream.shipments.model import Shipment, Stage
from logistream.shipments.stages import (
    StageChange,
    StageConfig,
    StageProgress,
    on_position,
    overridden,
    start,
)


@dataclass(frozen=True, slots=True)
class Position:
    """An archived GPS fix of the shipment's truck (event time, epoch s)."""

    t: float
    lat: float
    lon: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Override:
    """A dispatcher set the stage by hand (a ``stage_overridden`` row of shipment_changes)."""

    at: float
    stage: Stage
    stop: int
    version: int
    by: str = ""
    reason: str = ""


def replay(
    shipment: Shipment,
    positions: Iterable[Position],
    overrides: Sequence[Override] = (),
    config: StageConfig | None = None,
) -> list[StageChange]:
    """Every stage change, oldest first: positions by (event time, event id), each override
    applied at its time (after the positions of that same second: the dispatcher saw them)."""
    config = config or StageConfig()
    progress = start(shipment)
    pending = sorted(overrides, key=lambda o: (o.at, o.version))
    changes: list[StageChange] = []
    i = 0
    for p in sorted(positions, key=lambda p: (p.t, p.event_id)):
        while i < len(pending) and pending[i].at < p.t:
            progress, done = _override(progress, pending[i])
            changes.extend(done)
            i += 1
        progress, done = on_position(progress, shipment, p.lat, p.lon, p.t, config, p.event_id)
        changes.extend(done)
    for o in pending[i:]:
        progress, done = _override(progress, o)
        changes.extend(done)
    return changes


def _override(
    progress: StageProgress, o: Override
) -> tuple[StageProgress, tuple[StageChange, ...]]:
    return overridden(progress, o.stage, o.stop, o.at, o.version)


def drop_stop(shipment: Shipment, lot_number: str) -> int:
    """The index of the stop where the lot is handed over (the destination if none names it)."""
    for index, stop in enumerate(shipment.stops):
        if lot_number in stop.drops:
            return index
    return len(shipment.stops) - 1


EndedBy = Literal["pod", "arrival", "now"]


@dataclass(frozen=True, slots=True)
class Carriage:
    """Loading to handover of one lot (epoch s)."""

    lot: str
    drop: int
    """Index of the lot's drop stop."""
    start: float | None
    """Loading; None: the shipment reached no stage yet."""
    end: float
    ended_by: EndedBy

    @property
    def seconds(self) -> float:
        return 0.0 if self.start is None else self.end - self.start


def loaded_at(changes: Sequence[StageChange]) -> float | None:
    """The loading: the time of the first stage the shipment reached after ``planned``."""
    return next((c.at for c in changes if c.stage != "planned"), None)


def arrived_at(changes: Sequence[StageChange], stop: int) -> float | None:
    """The truck's first arrival at stop ``stop`` (or the shipment set ``delivered``)."""
    for c in changes:
        if c.stage in ("at_stop", "at_destination", "at_origin") and c.stop == stop:
            return c.at
        if c.stage == "delivered":
            return c.at
    return None


def carriage(
    shipment: Shipment,
    lot_number: str,
    changes: Sequence[StageChange],
    now: float,
    pod_signed_at: float | None = None,
) -> Carriage:
    """The lot's carriage under the rule of the module's docstring."""
    drop = drop_stop(shipment, lot_number)
    begin = loaded_at(changes)
    arrival = arrived_at(changes, drop)
    end: float
    by: EndedBy
    if pod_signed_at is not None:
        end, by = pod_signed_at, "pod"
    elif arrival is not None:
        end, by = arrival, "arrival"
    else:
        end, by = now, "now"
    if begin is not None and end < begin:
        end = begin
    return Carriage(lot_number, drop, begin, end, by)
