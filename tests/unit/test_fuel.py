"""Fuel metrics on hand-made trips: consumption, L/100 km, reefer L/h, refuels, thefts."""

from __future__ import annotations

import pytest
from tests.helpers import seeded_random

from logistream.batch.views.fuel import FuelSample, smoothed, trip_fuel
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.geo import haversine_km

T0 = 1_750_000_000.0
TANK = 400.0
KM_PER_DEG_LAT = haversine_km(0.0, 37.0, 1.0, 37.0)


def build(
    minutes: int,
    litres_at: object,
    speed_at: object,
    *,
    noise_pct: float = 0.0,
    seed_name: str = "fuel",
    reefer: bool = True,
) -> list[FuelSample]:
    """One reading per 10 s; position moves north at the given speed."""
    rng = seeded_random(seed_name)
    out, lat = [], -1.0
    for i in range(minutes * 6 + 1):
        t = i * 10.0
        v = speed_at(t)  # type: ignore[operator]
        lat += v * 10.0 / 3600.0 / KM_PER_DEG_LAT
        pct = litres_at(t) / TANK * 100.0 + rng.gauss(0.0, noise_pct)  # type: ignore[operator]
        out.append(FuelSample(t=T0 + t, fuel_pct=pct, speed_kmh=v, lat=lat, lon=37.0,
                              reefer_on=reefer, event_id=f"{i:06d}"))  # fmt: skip
    return out


def test_steady_driving_gives_l_per_100km() -> None:
    # 2 h at 60 km/h burning 0.35 L/km: 120 km, 42 L, 35 L/100 km.
    trip = build(120, lambda t: 300.0 - 0.35 * 60.0 * t / 3600.0, lambda t: 60.0, noise_pct=0.05)
    s = trip_fuel(trip, TANK, DEFAULT_PARAMS)
    assert s.distance_km == pytest.approx(120.0, rel=1e-3)
    assert s.consumed_l == pytest.approx(42.0, abs=2.5)  # the trailing mean lags 2.5 min
    assert s.l_per_100km == pytest.approx(35.0, abs=2.0)
    assert s.refuels == 0
    assert s.thefts == 0


def test_refuel_is_counted_once_and_added_to_consumption() -> None:
    # Parked at a pump for 30 min: 200 L at 1 L/s from minute 10, then 30 min driving.
    def litres(t: float) -> float:
        return (
            150.0
            + min(200.0, max(0.0, t - 600.0))
            - (0.35 * 60 * (t - 1800) / 3600 if t > 1800 else 0)
        )

    trip = build(60, litres, lambda t: 0.0 if t < 1800 else 60.0, noise_pct=0.05)
    s = trip_fuel(trip, TANK, DEFAULT_PARAMS)
    assert s.refuels == 1
    assert s.refuelled_l == pytest.approx(200.0, abs=3.0)
    assert s.thefts == 0
    assert s.consumed_l == pytest.approx(0.35 * 30, abs=3.0)


def test_theft_while_parked_is_suspected_and_the_reefer_rate_measured() -> None:
    # Parked 2 h, reefer burns 3 L/h; 80 L siphoned over 10 min from minute 40.
    def litres(t: float) -> float:
        stolen = min(80.0, max(0.0, (t - 2400.0) * 80.0 / 600.0))
        return 300.0 - 3.0 * t / 3600.0 - stolen

    s = trip_fuel(build(120, litres, lambda t: 0.0, noise_pct=0.05), TANK, DEFAULT_PARAMS)
    assert s.thefts == 1
    (e,) = s.events
    assert e.kind == "theft"
    assert e.litres == pytest.approx(80.0, abs=4.0)
    assert 2400 <= e.start - T0 <= 2500
    assert s.stolen_l == e.litres
    assert s.consumed_l == pytest.approx(6.0, abs=4.0)  # 2 h x 3 L/h, theft not counted
    assert s.reefer_l_per_h == pytest.approx(3.0, abs=1.0)


def test_normal_consumption_while_parked_is_not_theft() -> None:
    s = trip_fuel(build(180, lambda t: 300.0 - 4.0 * t / 3600.0, lambda t: 0.0, noise_pct=0.05),
                  TANK, DEFAULT_PARAMS)  # fmt: skip
    assert s.thefts == 0
    assert s.refuels == 0
    assert s.reefer_l_per_h == pytest.approx(4.0, abs=0.5)


def test_tank_size_scales_litres() -> None:
    trip = build(60, lambda t: 300.0 - 20.0 * t / 3600.0, lambda t: 0.0)
    small = trip_fuel(trip, TANK, DEFAULT_PARAMS)
    big = trip_fuel(trip, 2 * TANK, DEFAULT_PARAMS)
    assert big.consumed_l == pytest.approx(2 * small.consumed_l)  # type: ignore[operator]


def test_no_fuel_readings_give_no_figures() -> None:
    trip = [FuelSample(t=T0 + i * 60, fuel_pct=None, speed_kmh=50.0) for i in range(10)]
    s = trip_fuel(trip, TANK, DEFAULT_PARAMS)
    assert s.consumed_l is None
    assert s.l_per_100km is None
    assert s.events == ()


def test_trailing_mean_includes_equal_times() -> None:
    assert smoothed([0.0, 0.0, 100.0, 400.0], [1.0, 3.0, 5.0, 7.0], 300.0) == [2.0, 2.0, 3.0, 6.0]
