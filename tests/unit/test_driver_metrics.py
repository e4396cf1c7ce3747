"""Driver metrics on hand-made trips: harsh events per 100 km, speeding, idling, the score."""

from __future__ import annotations

import pytest

from logistream.batch.views.drivers import DriveSample, score, trip_driving
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.geo import haversine_km

T0 = 1_750_000_000.0
KM_PER_DEG_LAT = haversine_km(0.0, 37.0, 1.0, 37.0)


def ramp(a: float, b: float) -> list[float]:
    """Gentle: 1 km/h per second (0.28 m/s²)."""
    step = 1.0 if b > a else -1.0
    return [a + step * i for i in range(1, int(abs(b - a)) + 1)]


def drive(speeds: list[float], step: float = 1.0) -> list[DriveSample]:
    out, lat = [], 0.0
    for i, v in enumerate(speeds):
        out.append(
            DriveSample(t=T0 + i * step, speed_kmh=v, lat=lat, lon=37.0, event_id=f"{i:06d}")
        )
        lat += v * step / 3600.0 / KM_PER_DEG_LAT
    return out


def test_harsh_braking_and_acceleration_are_counted_per_event() -> None:
    # 60 km/h cruising; one hard stop (60 -> 0 in 4 s: 4.2 m/s²), one launch (0 -> 45 in 4 s:
    # 3.1 m/s²), and a gentle stop (1 m/s²) that is not harsh.
    speeds = [60.0] * 600 + [45.0, 30.0, 15.0, 0.0] + [0.0] * 10 + [11.25, 22.5, 33.75, 45.0]
    speeds += [45.0] * 600 + [45.0 - 3.6 * i for i in range(1, 13)] + [0.0] * 5
    s = trip_driving(drive(speeds), DEFAULT_PARAMS)
    assert s.harsh_brakes == 1
    assert s.harsh_accels == 1
    assert s.distance_km == pytest.approx(10.0 + 7.5 + 0.1, abs=0.2)
    assert s.brakes_per_100km == pytest.approx(100.0 / s.distance_km)


def test_readings_too_far_apart_give_no_acceleration() -> None:
    s = trip_driving(drive([60.0, 0.0, 60.0, 0.0], step=10.0), DEFAULT_PARAMS)
    assert s.harsh_brakes == 0
    assert s.harsh_accels == 0


def test_speeding_and_idling_time() -> None:
    # Wait 10 min at the depot (not idling), drive 20 min at 90 km/h (speeding), stand 5 min
    # in traffic (idling), drive 10 min at 70, then stand 10 min at the destination (not idling).
    speeds = [0.0] * 600 + ramp(0, 90) + [90.0] * 1200 + ramp(90, 0) + [0.0] * 300
    speeds += ramp(0, 70) + [70.0] * 600 + ramp(70, 0) + [0.0] * 600
    s = trip_driving(drive(speeds), DEFAULT_PARAMS)
    assert s.harsh_brakes == 0
    assert s.harsh_accels == 0
    # Ramp readings above 80 km/h: 81..90 up, 89..81 down.
    assert s.speeding_s == 1200 + 10 + 9
    # Ramp readings above 2 km/h: 3..90, 89..3, 3..70, 69..3.
    assert s.driving_s == 1800 + 88 + 87 + 68 + 67
    # Stationary between the first and last moving reading: 2, 1, 0, 300 s in traffic, 1, 2.
    assert s.idling_s == 300 + 5
    assert s.max_speed_kmh == 90.0
    expected = 100 - 100 * s.speeding_s / s.driving_s - 20 * s.idling_s / (s.driving_s + s.idling_s)
    assert s.score == pytest.approx(expected)


def test_score_is_bounded_and_short_trips_use_ten_km() -> None:
    assert score(brakes_per_100km=0, accels_per_100km=0, driving_s=100, speeding_s=0,
                 idling_s=0) == 100.0  # fmt: skip
    assert score(brakes_per_100km=50, accels_per_100km=0, driving_s=100, speeding_s=100,
                 idling_s=0) == 0.0  # fmt: skip
    s = trip_driving(drive([30.0] * 60 + ramp(30, 0)), DEFAULT_PARAMS)  # 0.5 km, no events
    assert s.brakes_per_100km == 0.0
    hard = trip_driving(drive([30.0] * 60 + [15.0, 0.0]), DEFAULT_PARAMS)
    assert hard.harsh_brakes == 1
    assert hard.brakes_per_100km == pytest.approx(10.0)  # 1 event per 10 km, not per 0.5 km


def test_missing_speed_is_ignored() -> None:
    rows = [DriveSample(t=T0 + i, speed_kmh=None) for i in range(5)]
    s = trip_driving(rows, DEFAULT_PARAMS)
    assert s.driving_s == 0
    assert s.max_speed_kmh is None
    assert s.score == 100.0
