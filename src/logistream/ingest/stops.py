"""A trip's stops: the route's planned stops, the destination, and where faults park the truck.

A fault that parks at a distance lengthens a planned stop there, or adds a stop where the truck
pulls over; a fault that parks at a time is placed ahead of the truck, as far as it needs to
brake. The truck (``truck.py``) walks the list in order of distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from logistream.ingest.faults import PARKING, Fault
from logistream.ingest.route import RoutePath

UNLOAD_DWELL_S: Final = 60.0 * 60.0
"""At the destination: unload, wash, load the return cargo."""


@dataclass(slots=True)
class Stop:
    km: float
    dwell_s: float
    kind: str
    destination: bool = False
    fault: Fault | None = None


def trip_stops(path: RoutePath, faults: list[Fault], *, first_trip: bool) -> list[Stop]:
    """The stops of one trip along ``path``, in order of distance.

    On the first trip, the faults that park at a distance are placed (and set to PARKING).
    """
    stops = [Stop(s.km, s.dwell_s, s.kind) for s in path.stops]
    stops.append(Stop(path.length_km, UNLOAD_DWELL_S, "depot", destination=True))
    if first_trip:
        for fault in faults:
            if fault.park_s <= 0 or fault.km_trigger is None:
                continue
            fault.state = PARKING
            # Parking at a planned stop lengthens it; elsewhere the truck pulls over.
            planned = next((s for s in stops if abs(s.km - fault.km_trigger) < 1e-6), None)
            if planned is not None and planned.fault is None:
                planned.fault = fault
                planned.dwell_s = max(planned.dwell_s, fault.park_s)
            else:
                stops.append(Stop(fault.km_trigger, fault.park_s, "park", fault=fault))
    stops.sort(key=lambda s: s.km)
    return stops


def insert_pull_over(stops: list[Stop], next_i: int, at_km: float, fault: Fault) -> None:
    """Add a parking stop for ``fault`` at ``at_km`` among the stops not yet reached."""
    stops.insert(next_i, Stop(at_km, fault.park_s, "park", fault=fault))
    stops[next_i:] = sorted(stops[next_i:], key=lambda s: s.km)


def add_planned_stops(stops: list[Stop], planned: Sequence[tuple[float, float]]) -> None:
    """Stand at each (km, seconds) too: a shipment's drop where the route has no stop. A planned
    stop at the same distance as one already there lengthens it."""
    for km, dwell_s in planned:
        same = next((s for s in stops if abs(s.km - km) < 1e-6), None)
        if same is not None:
            same.dwell_s = max(same.dwell_s, dwell_s)
        else:
            stops.append(Stop(km, dwell_s, "drop"))
    stops.sort(key=lambda s: s.km)
