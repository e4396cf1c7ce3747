"""A trip's distance never counts a jump: a step faster than any truck drives adds nothing.

The pure maths (fuel efficiency, driver behaviour) sum the GPS distance of consecutive readings;
a truck relocated between trips, or a wild fix, would otherwise add hundreds of kilometres.
"""

from __future__ import annotations

import itertools

import pytest
from tests.helpers import seeded_random

from logistream.batch.views.drivers import DriveSample, trip_driving
from logistream.batch.views.fuel import FuelSample, step_km, trip_fuel
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.geo import haversine_km

KM_PER_DEG_LAT = 111.2


def _drive(jump_at: int | None) -> list[tuple[float, float, float, float]]:
    """(t, lat, lon, speed) every 5 s at 72 km/h southwards for an hour, optionally with the
    truck moved 4° south (about 445 km) in one 5-s step at reading ``jump_at``."""
    rng = seeded_random("step distance")
    rows = []
    lat, lon = -1.30, 36.80
    for i in range(720):
        if i == jump_at:
            lat -= 4.0
        elif i > 0:
            lat -= 0.1 / KM_PER_DEG_LAT
        rows.append((1_740_970_800.0 + 5.0 * i, lat + rng.gauss(0.0, 3e-5), lon, 72.0))
    return rows


def _expected_km(rows: list[tuple[float, float, float, float]], skip: int | None) -> float:
    return sum(
        haversine_km(a[1], a[2], b[1], b[2])
        for i, (a, b) in enumerate(itertools.pairwise(rows), start=1)
        if i != skip
    )


def test_a_step_no_truck_can_drive_adds_no_distance() -> None:
    p = DEFAULT_PARAMS
    assert step_km((-1.0, 36.0), (-1.001, 36.0), 5.0, p) == pytest.approx(0.1112, abs=1e-3)
    # 445 km in 5 s, and a 1.1 km fix at the same second: jumps.
    assert step_km((-1.0, 36.0), (-5.0, 36.0), 5.0, p) == 0.0
    assert step_km((-1.0, 36.0), (-1.01, 36.0), 0.0, p) == 0.0
    # GPS noise between fixes a tenth of a second apart is not a jump.
    assert step_km((-1.0, 36.0), (-1.00005, 36.0), 0.1, p) > 0.0
    # Four hours of silence over 250 km is driving (62 km/h), not a jump.
    assert step_km((-1.0, 36.0), (-3.25, 36.0), 4 * 3600.0, p) == pytest.approx(250, abs=1)
    assert step_km((None, 36.0), (-1.0, 36.0), 5.0, p) == 0.0


@pytest.mark.parametrize("which", ["fuel", "drivers"])
def test_a_trip_with_one_jump_has_the_distance_driven(which: str) -> None:
    jumped = _drive(jump_at=360)
    driven = _expected_km(jumped, skip=360)
    assert 70.0 < driven < 73.0  # an hour at 72 km/h
    if which == "fuel":
        fuel = [FuelSample(t, 50.0, v, la, lo, True) for t, la, lo, v in jumped]
        km = trip_fuel(fuel, 400.0, DEFAULT_PARAMS).distance_km
    else:
        drive = [DriveSample(t, v, la, lo) for t, la, lo, v in jumped]
        km = trip_driving(drive, DEFAULT_PARAMS).distance_km
    print(f"{which}: {km:.2f} km counted, {driven:.2f} km driven")
    assert km == pytest.approx(driven, rel=1e-9)
