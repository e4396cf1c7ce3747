"""A shipment's stage from its truck's GPS readings: the stage machine with a dwell at each fence.

planned → at origin (loading) → in transit → at stop N → in transit → … → at destination →
delivered. A truck *arrives* at a stop when it has stayed inside the stop's geofence for
``dwell_in_s`` of event time, and *leaves* when it has stayed outside for ``dwell_out_s``; a GPS
fix jittering across a fence, or a truck driving through a fence without stopping, changes
nothing. The stage's time is the first reading of the stretch (the arrival is when the truck
first stood inside), while the change is known, and announced, once the dwell has passed.

Choices, where the issue is silent:
- From ``planned`` or ``in_transit`` the truck may arrive at any later stop (a drop skipped or
  reordered by the driver) or, from ``in_transit``, back at the stop it just left (it turned
  round); never at an earlier one. The change names the stop, so a skipped drop shows.
- Leaving the destination's fence makes the shipment ``delivered`` (all is handed over when the
  truck drives off); ``delivered`` is final.
- A dispatcher's override sets the stage and stop outright (:func:`overridden`); tracking goes on
  from there.
- A reading without a GPS fix says nothing about the fences and keeps any dwell running.

Pure: a frozen msgspec struct in, a new one and the changes out (the speed layer checkpoints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

from logistream.shipments.model import Shipment, Stage

StageCause = Literal["geofence", "override"]


@dataclass(frozen=True, slots=True)
class StageConfig:
    dwell_in_s: float = 120.0
    """How long a truck stays inside a stop's fence before it counts as arrived."""
    dwell_out_s: float = 120.0
    """How long it stays outside the fence of the stop it is at before it counts as left."""


class Pending(msgspec.Struct, frozen=True):
    """A stretch that will change the stage if it lasts the dwell: inside stop ``stop``'s fence
    (an arrival) or outside the current stop's (a departure), since event time ``since``."""

    stop: int
    since: float


class StageProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where one shipment is, as its truck's readings have shown so far."""

    shipment_id: str
    stage: Stage = "planned"
    stop: int = 0
    """The stop the shipment is at, or last left (see :data:`~logistream.shipments.model.Stage`)."""
    since: float | None = None
    """Event time at which this stage began (None: planned, nothing seen yet)."""
    pending: Pending | None = None
    version: int = 0
    """The shipment record's version whose override was applied last."""


@dataclass(frozen=True, slots=True)
class StageChange:
    """The stage changed at event time ``at``; ``event_id`` is the reading that completed it."""

    shipment_id: str
    stage: Stage
    stop: int
    at: float
    previous_stage: Stage
    previous_stop: int
    cause: StageCause
    event_id: str | None = None


NO_CHANGE: tuple[StageChange, ...] = ()


def start(shipment: Shipment) -> StageProgress:
    return StageProgress(shipment_id=shipment.shipment_id)


def _stage_at(shipment: Shipment, stop: int) -> Stage:
    kind = shipment.stops[stop].kind
    if kind == "origin":
        return "at_origin"
    if kind == "destination":
        return "at_destination"
    return "at_stop"


def _fence_holding(shipment: Shipment, progress: StageProgress, lat: float, lon: float) -> int:
    """The stop whose fence the truck may arrive at from here and is inside of (-1: none).
    The nearest in the shipment's order wins where fences of later stops overlap."""
    stage, current = progress.stage, progress.stop
    if stage == "planned":
        first = 0
    elif stage == "in_transit":
        first = current  # back at the stop just left, or any later one
    else:
        return -1
    for index in range(first, len(shipment.stops)):
        if shipment.stops[index].geofence.contains(lat, lon):
            return index
    return -1


def on_position(
    progress: StageProgress,
    shipment: Shipment,
    lat: float | None,
    lon: float | None,
    ts: float,
    config: StageConfig,
    event_id: str | None = None,
) -> tuple[StageProgress, tuple[StageChange, ...]]:
    """The shipment's progress after its truck reported (lat, lon) at event time ``ts``."""
    if progress.stage == "delivered" or lat is None or lon is None:
        return progress, NO_CHANGE
    at_a_stop = progress.stage in ("at_origin", "at_stop", "at_destination")
    if at_a_stop:
        if shipment.stops[progress.stop].geofence.contains(lat, lon):
            return _pending(progress, None), NO_CHANGE
        pending = progress.pending or Pending(progress.stop, ts)
        if ts - pending.since < config.dwell_out_s:
            return _pending(progress, pending), NO_CHANGE
        leaving_last = progress.stop == len(shipment.stops) - 1
        stage: Stage = "delivered" if leaving_last else "in_transit"
        return _changed(progress, stage, progress.stop, pending.since, event_id)

    inside = _fence_holding(shipment, progress, lat, lon)
    if inside < 0:
        return _pending(progress, None), NO_CHANGE
    arriving = progress.pending
    if arriving is None or arriving.stop != inside:
        arriving = Pending(inside, ts)
    if ts - arriving.since < config.dwell_in_s:
        return _pending(progress, arriving), NO_CHANGE
    return _changed(progress, _stage_at(shipment, inside), inside, arriving.since, event_id)


def overridden(
    progress: StageProgress, stage: Stage, stop: int, at: float, version: int
) -> tuple[StageProgress, tuple[StageChange, ...]]:
    """A dispatcher set the stage by hand (record ``version``); applied once per version."""
    if version <= progress.version:
        return progress, NO_CHANGE
    new = msgspec.structs.replace(
        progress, stage=stage, stop=stop, since=at, pending=None, version=version
    )
    if (stage, stop) == (progress.stage, progress.stop):
        return new, NO_CHANGE
    change = StageChange(
        progress.shipment_id, stage, stop, at, progress.stage, progress.stop, "override"
    )
    return new, (change,)


def _pending(progress: StageProgress, pending: Pending | None) -> StageProgress:
    if pending == progress.pending:
        return progress
    return msgspec.structs.replace(progress, pending=pending)


def _changed(
    progress: StageProgress, stage: Stage, stop: int, at: float, event_id: str | None
) -> tuple[StageProgress, tuple[StageChange, ...]]:
    change = StageChange(
        progress.shipment_id, stage, stop, at, progress.stage, progress.stop, "geofence", event_id
    )
    new = msgspec.structs.replace(progress, stage=stage, stop=stop, since=at, pending=None)
    return new, (change,)
