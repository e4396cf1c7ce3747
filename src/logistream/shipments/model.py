"""A shipment: lots of one cargo profile carried by one truck through an ordered list of stops.

The first stop is the origin (where the lots are loaded), the last the destination; drops lie
between. Each stop has a geofence and a planned arrival window, and names the lots handed over
there. Values are immutable and already validated (see ``parse.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from logistream.shipments.geofence import Geofence

StopKind = Literal["origin", "drop", "destination"]
STOP_KINDS: tuple[StopKind, ...] = ("origin", "drop", "destination")

Stage = Literal["planned", "at_origin", "in_transit", "at_stop", "at_destination", "delivered"]
"""Where a shipment is: with the index of its stop (``at_*``: the stop it is at; ``in_transit``:
the stop it last left; ``planned``: 0, ``delivered``: the destination's)."""
STAGES: tuple[Stage, ...] = (
    "planned",
    "at_origin",
    "in_transit",
    "at_stop",
    "at_destination",
    "delivered",
)


@dataclass(frozen=True, slots=True)
class Organisation:
    """A shipper or receiver: a stable id and the name people read."""

    org_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot of one product, released or rejected as a whole."""

    number: str
    product: str
    quantity: float
    unit: str
    expiry: date | None


@dataclass(frozen=True, slots=True)
class Stop:
    """A place on the way: its fence, its planned arrival window (aware datetimes) and the lot
    numbers handed over there."""

    stop_id: str
    name: str
    kind: StopKind
    geofence: Geofence
    window_start: datetime
    window_end: datetime
    drops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    reference: str
    shipper: Organisation
    receiver: Organisation
    cargo: str
    """The cargo profile's name in the registry (``cargo.toml``)."""
    truck_id: str
    probes: tuple[str, ...]
    """Probe ids assigned to the shipment; empty: every probe of the truck."""
    lots: tuple[Lot, ...]
    stops: tuple[Stop, ...]

    def lot(self, number: str) -> Lot | None:
        return next((lot for lot in self.lots if lot.number == number), None)
