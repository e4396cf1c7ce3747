"""The physics curves have the shapes the code states (pure functions, no simulator)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from logistream.ingest import physics


def _at(hour: str) -> float:
    return datetime.fromisoformat(f"2025-03-03T{hour}:00+03:00").timestamp()


def test_compressor_failure_drifts_towards_ambient_over_hours() -> None:
    assert physics.TAU_FAILURE_S >= 3600
    start, ambient = 5.0, 30.0
    target, tau = physics.cargo_target(5.0, ambient, door_open=False, failed=True)
    assert (target, tau) == (ambient, physics.TAU_FAILURE_S)
    after_10_min = physics.relax(start, target, 600, tau)
    after_tau = physics.relax(start, target, tau, tau)
    after_5_tau = physics.relax(start, target, 5 * tau, tau)
    assert after_10_min - start < 2.0  # hours, not seconds
    assert after_tau == pytest.approx(start + (ambient - start) * (1 - math.exp(-1)))
    assert ambient - 0.3 < after_5_tau < ambient
    # Monotone: never overshoots ambient.
    values = [physics.relax(start, target, s, tau) for s in range(0, 36000, 600)]
    assert values == sorted(values)
    assert values[-1] < ambient


def test_door_open_warms_in_minutes_and_the_unit_recovers() -> None:
    setpoint, ambient = 4.0, 25.0
    target, tau = physics.cargo_target(setpoint, ambient, door_open=True, failed=False)
    assert target == ambient
    assert 10 * 60 <= tau <= 30 * 60
    warmed = physics.relax(setpoint, target, 30 * 60, tau)
    assert 12.0 < warmed < ambient
    back, pull = physics.cargo_target(setpoint, ambient, door_open=False, failed=False)
    assert back == setpoint
    assert 2 * 60 <= pull <= 10 * 60
    recovered = physics.relax(warmed, back, 20 * 60, pull)
    assert abs(recovered - setpoint) < 0.5


def test_defrost_is_a_short_bounded_bump() -> None:
    duration, peak = 35 * 60.0, physics.defrost_peak(3.0)
    assert 1.0 <= peak <= 3.0
    curve = [physics.defrost_offset(s, duration, peak) for s in range(0, int(duration) + 1, 30)]
    assert curve[0] == pytest.approx(0.0, abs=1e-9)
    assert curve[-1] == pytest.approx(0.0, abs=1e-6)
    assert max(curve) == pytest.approx(peak, rel=0.01)
    top = curve.index(max(curve))
    assert curve[: top + 1] == sorted(curve[: top + 1])
    assert physics.defrost_offset(-1, duration, peak) == 0.0
    assert physics.defrost_offset(duration + 1, duration, peak) == 0.0
    assert physics.DEFROST_MAX_S == 45 * 60
    assert (physics.DEFROST_MIN_INTERVAL_S, physics.DEFROST_MAX_INTERVAL_S) == (6 * 3600, 12 * 3600)


def test_coast_is_hotter_than_highlands_and_afternoons_than_nights() -> None:
    mombasa = physics.mean_ambient_c(-4.0435, 39.6682)
    voi = physics.mean_ambient_c(-3.3961, 38.5561)
    nairobi = physics.mean_ambient_c(-1.2864, 36.8172)
    limuru = physics.mean_ambient_c(-1.1136, 36.6422)
    assert mombasa > voi > nairobi > limuru
    assert physics.ambient_c(-1.28, 36.82, _at("15:00")) - physics.ambient_c(
        -1.28, 36.82, _at("03:00")
    ) == pytest.approx(2 * physics.DIURNAL_AMPLITUDE_C, abs=0.01)


def test_fuel_use_is_in_the_stated_ranges() -> None:
    assert physics.reefer_litres_per_hour(10.0, 5.0, door_open=False) >= 1.5
    assert physics.reefer_litres_per_hour(40.0, -25.0, door_open=True) <= 4.0
    hot = physics.reefer_litres_per_hour(30.0, -22.0, door_open=False)
    cool = physics.reefer_litres_per_hour(15.0, 5.0, door_open=False)
    assert hot > cool
    assert physics.fuel_burn_litres(100.0, 0.0, 0.35, 2.0) == pytest.approx(35.0)
    assert physics.fuel_burn_litres(0.0, 3600.0, 0.35, 2.0) == pytest.approx(2.0)


def test_speed_steps_respect_acceleration_limits() -> None:
    v = physics.step_speed(0.0, 22.0, 1.0, physics.ACCEL_MS2, physics.BRAKE_MS2)
    assert v == pytest.approx(physics.ACCEL_MS2)
    v = physics.step_speed(20.0, 0.0, 1.0, physics.ACCEL_MS2, physics.BRAKE_MS2)
    assert v == pytest.approx(20.0 - physics.BRAKE_MS2)
    assert physics.braking_speed_ms(0.0) == 0.0
    assert physics.cruise_kmh(79.0, 12345.0, 0.3) <= physics.HIGHWAY_LIMIT_KMH
