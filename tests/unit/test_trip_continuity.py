"""The simulator's trucks never teleport: a new trip starts where the last one ended.

A truck that reaches its destination unloads there and drives the route back; its readings must
follow one another as a truck can drive (no step faster than ``MAX_STEP_KMH``), and each whole
trip's GPS distance must be about its route's length (not the length plus a jump across the
country, as when the return trip's first reading was placed at the outbound origin).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime

from tests.helpers import seeded_random

from logistream.events import Reading
from logistream.geo import haversine_km
from logistream.ingest.fleet import build_fleet
from logistream.ingest.route import RoutePath
from logistream.registry import load_registry
from logistream.registry.scenarios import load_scenario

REGISTRY = load_registry()
START = datetime.fromisoformat("2025-03-03T06:00:00+03:00").timestamp()
HOURS = 20.0
"""Long enough for every route's truck to finish a trip and start the next one."""
RATE_HZ = 0.1
MAX_STEP_KMH = 150.0
"""Faster than any truck drives (the highway limit is 80 km/h, speeding faults 95 km/h)."""


def _fleet_readings(seed: int) -> dict[str, list[Reading]]:
    fleet = build_fleet(
        REGISTRY,
        load_scenario("none", REGISTRY),
        trucks=len(REGISTRY.trucks),
        seed=seed,
        start=START,
        rate_hz=RATE_HZ,
    )
    out: dict[str, list[Reading]] = defaultdict(list)
    for item in fleet.emissions(HOURS * 3600):
        assert isinstance(item, Reading)
        out[item.truck_id].append(item)
    return out


def _km(a: Reading, b: Reading) -> float:
    return haversine_km(a.lat or 0.0, a.lon or 0.0, b.lat or 0.0, b.lon or 0.0)


def test_trucks_drive_from_one_trip_into_the_next_without_jumping() -> None:
    seed = seeded_random("trip continuity").randrange(1_000_000)
    readings = _fleet_readings(seed)
    trip_changes = 0
    for truck in REGISTRY.trucks:
        rows = readings[truck.truck_id]
        length = RoutePath(REGISTRY.routes[truck.route]).length_km
        trips: dict[str, float] = defaultdict(float)
        order: list[str] = []
        for a, b in itertools.pairwise(rows):
            km = _km(a, b)
            kmh = km / ((b.timestamp - a.timestamp) / 3600.0)
            assert kmh <= MAX_STEP_KMH, (
                f"seed {seed}: {truck.truck_id} moved {km:.1f} km in "
                f"{b.timestamp - a.timestamp:.0f} s ({a.trip_id} -> {b.trip_id})"
            )
            trip_id = b.trip_id or ""
            if a.trip_id != trip_id:
                trip_changes += 1
            else:
                trips[trip_id] += km
            if not order or order[-1] != trip_id:
                order.append(trip_id)
        assert len(order) >= 2, f"{truck.truck_id} never started a second trip in {HOURS} h"
        # Every trip but the last (still under way) was driven end to end.
        for trip_id in order[:-1]:
            print(f"seed {seed}: {trip_id} {trips[trip_id]:.1f} km (route {length:.1f} km)")
            assert 0.99 * length <= trips[trip_id] <= 1.05 * length, (seed, trip_id)
    assert trip_changes >= len(REGISTRY.trucks)
