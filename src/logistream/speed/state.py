"""A truck's state in the speed layer: its latest reading, each rule family's state, open alerts.

The cargo-air rules (plausibility, temperature, trend, late readings) judge each temperature
probe on its own: the truck's single probe (readings without ``probe_id``) in the truck's own
fields, each named probe in :class:`ProbeAir`. The vehicle rules (offline, door, fuel, driving,
route) judge the truck once per event time, whichever probe's reading brought it.

Plain, frozen msgspec structs, so a checkpoint is just their msgpack bytes and a rule step is a
pure function returning a new state.
"""

from __future__ import annotations

import msgspec

from logistream.events import Alert, Reading
from logistream.modes.wire import ModeRecord
from logistream.speed.backfill import Gap
from logistream.speed.mode_hold import HeldAir
from logistream.speed.rules.door import DoorState
from logistream.speed.rules.driving import DrivingState
from logistream.speed.rules.fuel import FuelState
from logistream.speed.rules.route import RouteState
from logistream.speed.rules.temperature import TempState
from logistream.speed.rules.trend import TrendState
from logistream.speed.shipment_step import ShipmentTrack


class ProbeAir(msgspec.Struct, frozen=True, kw_only=True):
    """The cargo-air rules' state of one named probe of a truck with several."""

    last: Reading | None = None
    """The probe's newest reading by event time."""
    temp: TempState = TempState()
    trend: TrendState = TrendState()
    gap: Gap | None = None
    """The last silence in this probe's live readings (:mod:`backfill`)."""


class TruckState(msgspec.Struct, frozen=True, kw_only=True):
    truck_id: str
    last: Reading | None = None
    """The newest reading by event time (older ones arriving later never replace it)."""
    partition: int = -1
    """Partition of the newest reading: the checkpoint restores the truck with this partition."""
    temp: TempState = TempState()
    trend: TrendState = TrendState()
    door: DoorState = DoorState()
    fuel: FuelState = FuelState()
    driving: DrivingState = DrivingState()
    route: RouteState = RouteState()
    alerts: dict[str, Alert] = msgspec.field(default_factory=dict)
    """Its open or acknowledged alerts, at most one per rule and probe, keyed by
    :func:`logistream.speed.alerts.alert_key`. Never mutated in place."""
    delay_s: float = 0.0
    """How far behind the fleet's event time this truck's readings arrive (learned)."""
    gap: Gap | None = None
    """The last silence in the live readings, whose readings may still arrive late."""
    probes: dict[str, ProbeAir] = msgspec.field(default_factory=dict)
    """Each named probe's cargo-air state (empty for a truck with a single probe). The fields
    ``temp``, ``trend`` and ``gap`` above are those of the single probe."""
    shipment: ShipmentTrack | None = None
    """The truck's active shipment: its stage, pre-cooling and ETA state."""
    mode: ModeRecord | None = None
    """The operating mode active at the newest reading's event time (shown in the live views)."""
    held: dict[str, HeldAir] = msgspec.field(default_factory=dict)
    """Each probe's cargo air held during a mode ("" the single probe; :mod:`mode_hold`)."""

    @property
    def last_ts(self) -> float | None:
        return self.last.timestamp if self.last is not None else None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(TruckState)


def dump_state(state: TruckState) -> bytes:
    return _encoder.encode(state)


def load_state(raw: bytes) -> TruckState:
    return _decoder.decode(raw)
