"""Batch views on a real PostgreSQL never count a jump as distance.

A truck drives the same made-up trip twice, a day apart; the second time it is moved about
445 km in one step halfway (as the simulator did between trips, and as a wild GPS fix would).
That trip's trip, fuel and driver views must show the distance it drove, not the jump, and its
L/100 km that of the first; the pure maths agree.
"""

from __future__ import annotations

import itertools
import random

import psycopg
import pytest
from tests.helpers import seeded_random
from tests.integration.batch_support import Row, apply_schema, fetch, insert_readings, made_up_trip

from logistream.batch.views.fuel import FuelSample, trip_fuel
from logistream.batch.views.recompute import recompute
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.config import Settings
from logistream.geo import haversine_km
from logistream.registry import cached_registry

JUMP_DEG = 4.0
"""About 445 km due south, in one step of a few seconds."""


def _gps_km(a: Row, b: Row) -> float:
    return haversine_km(a.lat or 0.0, a.lon or 0.0, b.lat or 0.0, b.lon or 0.0)


def test_a_trip_with_one_teleport_jump_gets_the_distance_driven(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    seed = seeded_random("distance jumps").randrange(1_000_000)
    jumped = made_up_trip(random.Random(seed))
    clean = made_up_trip(random.Random(seed), trip_id="KBX123A-0", start=jumped[0].t - 24 * 3600.0)
    start = jumped[0].t
    at = next(i for i, r in enumerate(jumped) if r.t >= start + 3 * 3600)
    for r in jumped[at:]:
        assert r.lat is not None
        r.lat = round(r.lat - JUMP_DEG, 6)
    assert (jumped[at].speed_kmh or 0) > 50, "the jump must come while the truck drives"
    insert_readings(url, clean + jumped)
    with psycopg.connect(url) as conn:
        recompute(conn, cached_registry(), None)

    steps = [_gps_km(a, b) for a, b in itertools.pairwise(jumped)]
    naive = sum(steps)
    driven = naive - steps[at - 1]
    assert steps[at - 1] > 440.0
    got = dict(
        fetch(
            url,
            "SELECT t.trip_id, json_build_array(t.distance_km, f.distance_km, d.distance_km, "
            "f.l_per_100km) FROM trips t JOIN fuel_efficiency f USING (truck_id, trip_id) "
            "JOIN driver_behaviour d USING (truck_id, trip_id)",
        )
    )
    trip_km, fuel_km, driver_km, per_100 = got["KBX123A-1"]
    clean_km, _, _, clean_per_100 = got["KBX123A-0"]
    print(
        f"seed {seed}: with the jump {trip_km:.2f} km counted, {driven:.2f} km driven, "
        f"{naive:.2f} km counting the jump; the same trip without it {clean_km:.2f} km"
    )
    assert trip_km == pytest.approx(driven, rel=1e-9)
    assert fuel_km == pytest.approx(driven, rel=1e-9)
    assert driver_km == pytest.approx(driven, rel=1e-9)
    # Only the one step of driving hidden in the jump is missing.
    assert clean_km - 0.2 < trip_km <= clean_km
    assert per_100 == pytest.approx(clean_per_100, rel=0.01)
    pure = trip_fuel(
        [FuelSample(r.t, r.fuel, r.speed_kmh, r.lat, r.lon, r.reefer_on) for r in jumped],
        400.0,
        DEFAULT_PARAMS,
    )
    assert pure.distance_km == pytest.approx(trip_km, rel=1e-9)
