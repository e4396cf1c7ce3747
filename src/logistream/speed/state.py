"""A truck's state in the speed layer: its latest reading, each rule family's state, open alerts.

Plain, frozen msgspec structs, so a checkpoint is just their msgpack bytes and a rule step is a
pure function returning a new state.
"""

from __future__ import annotations

import msgspec

from logistream.events import Alert, Reading
from logistream.speed.backfill import Gap
from logistream.speed.rules.door import DoorState
from logistream.speed.rules.driving import DrivingState
from logistream.speed.rules.fuel import FuelState
from logistream.speed.rules.route import RouteState
from logistream.speed.rules.temperature import TempState
from logistream.speed.rules.trend import TrendState


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
    """Rule -> its open or acknowledged alert (at most one per rule). Never mutated in place."""
    delay_s: float = 0.0
    """How far behind the fleet's event time this truck's readings arrive (learned)."""
    gap: Gap | None = None
    """The last silence in the live readings, whose readings may still arrive late."""

    @property
    def last_ts(self) -> float | None:
        return self.last.timestamp if self.last is not None else None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(TruckState)


def dump_state(state: TruckState) -> bytes:
    return _encoder.encode(state)


def load_state(raw: bytes) -> TruckState:
    return _decoder.decode(raw)
