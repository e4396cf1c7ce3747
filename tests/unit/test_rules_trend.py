"""The trend warning ignores a probe's noise but still warns early of a failing reefer."""

from __future__ import annotations

import math
import random

import pytest
from tests.unit.rules_support import Run, rd, vax

from logistream.speed.rules.trend import line_fit, slope_se, t_quantile

SEED = 20260101


def _noisy(seed: int, hours: float, level: float, sd: float, every_s: float = 30.0) -> list:
    rng = random.Random(seed)
    n = int(hours * 3600 / every_s)
    return [vax(i * every_s, round(level + rng.gauss(0.0, sd), 2)) for i in range(n)]


@pytest.mark.parametrize("seed", [SEED, SEED + 1, SEED + 2])
def test_a_noisy_healthy_probe_raises_no_trend_warning_in_eight_hours(seed: int) -> None:
    print(f"seed={seed}: vaccines at 5.0 °C, noise sd 0.6 °C, 8 h, a reading every 30 s")
    run = Run()
    run.feed(_noisy(seed, 8, 5.0, 0.6))
    assert [c for c in run.changes if c.rule == "temp_rising"] == []


@pytest.mark.parametrize("inside", [0.1, 0.2, 0.3])
def test_a_steady_probe_just_inside_its_limit_raises_nothing(inside: float) -> None:
    print(f"seed={SEED}: vaccines at {8.0 - inside:.1f} and {2.0 + inside:.1f} °C, 2 h")
    for level in (8.0 - inside, 2.0 + inside):
        # A probe as quiet as the simulator's: nothing at all.
        run = Run()
        run.feed(_noisy(SEED, 2, level, 0.02))
        assert run.changes == []
        # Noisier (sd 0.06 °C) it touches the limit now and then (the excursion rules' call),
        # but it never looks like a trend.
        noisy = Run()
        noisy.feed(_noisy(SEED, 2, level, 0.06))
        assert [c for c in noisy.changes if c.rule == "temp_rising"] == []


def _failure(seed: int, sd: float) -> list:
    """Vaccines held at 5 °C for 15 min, then the compressor stops: the air relaxes towards a
    30 °C coast with a 3 h time constant (as the simulator's reefer_failure); every 30 s."""
    rng = random.Random(seed)
    out = []
    for i in range(int(2 * 3600 / 30)):
        ts = i * 30.0
        air = 5.0 if ts < 900 else 30.0 - 25.0 * math.exp(-(ts - 900) / (3 * 3600))
        out.append(vax(ts, round(air + rng.gauss(0.0, sd), 2)))
    return out


def test_a_real_reefer_failure_still_warns_at_least_fifteen_minutes_before_the_breach() -> None:
    print(f"seed={SEED}: reefer failure at 15 min, probe noise sd 0.06 °C")
    readings = _failure(SEED, 0.06)
    run = Run()
    run.feed(readings)
    rising = [c for c in run.changes if c.rule == "temp_rising" and c.state == "open"]
    assert len(rising) == 1
    breach = next(r.timestamp for r in readings if r.temp > 8.0)
    lead_min = (breach - rising[0].opened_at) / 60
    print(f"temp_rising opened {lead_min:.1f} min before the first reading above 8 °C")
    assert lead_min >= 15
    assert ("temp_high", "open") in run.transitions()


def test_defrost_and_door_cases_stay_quiet_on_a_noisy_probe() -> None:
    print(f"seed={SEED}: flowers at 3 °C, sd 0.3 °C, a stop with the door open, then a defrost")
    rng = random.Random(SEED)
    readings = []
    for i in range(240):
        ts = i * 30.0
        door = 40 <= i < 50
        defrost = 120 <= i < 180
        temp = 3.0 + (0.05 * (i - 40) if door else 0.0) + (0.8 if defrost else 0.0)
        readings.append(
            rd(
                ts,
                round(temp + rng.gauss(0.0, 0.3), 2),
                cargo="flowers",
                door_open=door,
                defrost=defrost,
            )
        )
    run = Run()
    run.feed(readings)
    assert [c for c in run.changes if c.rule == "temp_rising"] == []


def test_slope_standard_error_and_t_quantile() -> None:
    line = tuple((float(t), 1.0 + 0.01 * t) for t in range(0, 300, 20))
    assert slope_se(line, line_fit(line)) == pytest.approx(0.0, abs=1e-12)
    assert slope_se(line[:2], line_fit(line[:2])) == math.inf
    assert t_quantile(0.95, 3) == pytest.approx(2.353, abs=0.01)
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=0.005)
    assert t_quantile(0.975, 30) == pytest.approx(2.042, abs=0.005)
