"""MKT against hand-computed values (USP <1079.2>, ΔH/R = 83.144 kJ/mol / 8.3144 = 10,000 K)."""

from __future__ import annotations

import math

import pytest
from tests.helpers import seeded_random

from logistream.coldchain.mkt import mkt_of_series, mkt_weighted

HOUR = 3600.0


def test_constant_temperature_gives_itself() -> None:
    times = [i * 60.0 for i in range(121)]
    result = mkt_of_series(times, [5.0] * 121, hold_max_s=900)
    assert result.mkt_c == pytest.approx(5.0, abs=1e-9)
    assert result.covered_s == 120 * 60.0
    assert result.gap_s == 0.0


def test_two_levels_equal_time_gives_the_known_value() -> None:
    # 20 °C and 30 °C for equal times: 10000 / -ln((e^(-10000/293.15) + e^(-10000/303.15)) / 2)
    # - 273.15 = 26.2599 °C, well above the arithmetic mean of 25 °C.
    times = [i * 60.0 for i in range(241)]
    temps = [20.0] * 120 + [30.0] * 121  # the last reading stands for nothing
    result = mkt_of_series(times, temps, hold_max_s=900)
    assert result.mkt_c == pytest.approx(26.25988691600344, abs=1e-6)
    by_hand = 10000 / -math.log((math.exp(-10000 / 293.15) + math.exp(-10000 / 303.15)) / 2)
    assert result.mkt_c == pytest.approx(by_hand - 273.15, abs=1e-6)


def test_three_to_one_time_split_gives_the_known_value() -> None:
    # 3 h at 5 °C then 1 h at 25 °C: 15.1322 °C.
    assert mkt_weighted([5.0, 25.0], [3 * HOUR, HOUR]) == pytest.approx(15.132218289, abs=1e-6)


def test_uneven_sampling_of_the_same_curve_gives_the_same_mkt() -> None:
    rng = seeded_random("mkt-uneven")
    # A step curve: 5 °C for 3 h, 25 °C for 1 h. Evenly every minute ...
    even = [i * 60.0 for i in range(4 * 60 + 1)]

    def curve(t: float) -> float:
        return 5.0 if t < 3 * HOUR else 25.0

    # ... and unevenly: a reading every 5-60 s in the cold stretch and every 60-300 s in the
    # warm one, plus one at each change (as any sensor that reports on change would), in
    # shuffled order as a late spool would arrive.
    uneven = {0.0, 3 * HOUR, 4 * HOUR}
    t = 0.0
    while t < 4 * HOUR:
        t += rng.uniform(5, 60) if t < 3 * HOUR else rng.uniform(60, 300)
        uneven.add(min(t, 4 * HOUR))
    shuffled = list(uneven)
    rng.shuffle(shuffled)
    a = mkt_of_series(even, [curve(x) for x in even], hold_max_s=900)
    b = mkt_of_series(shuffled, [curve(x) for x in shuffled], hold_max_s=900)
    assert a.mkt_c == pytest.approx(15.132218289, abs=1e-6)
    assert b.mkt_c == pytest.approx(a.mkt_c, abs=1e-9)
    # An unweighted mean of the exponentials is biased low by the dense cold stretch; the
    # time weighting is what makes b right.
    unweighted = mkt_weighted([curve(x) for x in shuffled], [1.0] * len(shuffled))
    assert unweighted is not None
    assert unweighted < a.mkt_c - 2.0


def test_smooth_curve_sampled_unevenly_converges() -> None:
    rng = seeded_random("mkt-smooth")

    def curve(t: float) -> float:
        return 6.0 + 4.0 * math.sin(2 * math.pi * t / (6 * HOUR))

    even = [i * 10.0 for i in range(int(6 * HOUR / 10) + 1)]
    # Dense in the cool half, sparse in the warm half: an unweighted mean would read low.
    uneven = sorted({*(rng.uniform(0, 6 * HOUR) for _ in range(4000)), 0.0, 6 * HOUR})
    uneven = [x for x in uneven if curve(x) < 6.0 or rng.random() < 0.2]
    a = mkt_of_series(even, [curve(x) for x in even], hold_max_s=900).mkt_c
    b = mkt_of_series(uneven, [curve(x) for x in uneven], hold_max_s=900).mkt_c
    assert a is not None
    assert b is not None
    assert b == pytest.approx(a, abs=0.05)
    unweighted = mkt_weighted([curve(x) for x in uneven], [1.0] * len(uneven))
    assert unweighted is not None
    assert abs(unweighted - a) > 0.5


def test_gaps_are_left_out_and_reported() -> None:
    # 1 h at 5 °C, silence for 2 h, then 1 h at 5 °C: the silence counts its first 15 min
    # (the last reading's hold) and 105 min are reported as uncovered.
    times = [i * 60.0 for i in range(61)] + [3 * HOUR + i * 60.0 for i in range(61)]
    result = mkt_of_series(times, [5.0] * len(times), hold_max_s=900)
    assert result.mkt_c == pytest.approx(5.0)
    assert result.gap_s == pytest.approx(2 * HOUR - 900)
    assert result.covered_s == pytest.approx(2 * HOUR + 900)


def test_not_computed_for_frozen_products_and_configurable_activation_energy() -> None:
    times = [0.0, HOUR, 2 * HOUR]
    assert mkt_of_series(times, [-20.0, -10.0, -20.0], hold_max_s=HOUR, enabled=False).mkt_c is None
    low = mkt_weighted([5.0, 25.0], [1.0, 1.0], activation_kj_mol=60.0)
    high = mkt_weighted([5.0, 25.0], [1.0, 1.0], activation_kj_mol=120.0)
    assert low is not None
    assert high is not None
    assert 15.0 < low < high < 25.0  # a higher ΔH weighs the warm stretch more


def test_no_covered_time_gives_none() -> None:
    assert mkt_of_series([10.0], [5.0], hold_max_s=900).mkt_c is None
