"""A lot's figures over its carriage, by hand: two probes on the vaccines profile (2–8 °C,
hysteresis 0.3 °C, budget 60 min), readings a minute apart, a hold cap of 15 min."""

from __future__ import annotations

import math
from typing import Any

import pytest

from logistream.registry import load_registry
from logistream.shipments.lot_figures import LotReading, analyse
from logistream.shipments.verdict import LotFigures, release_verdict

VACCINES = load_registry().cargo["vaccines"]
HOLD = 900.0


def lot_figures(*args: Any, **kwargs: Any) -> LotFigures:
    """Just the figures (the PoD's summary takes them alone)."""
    return analyse(*args, **kwargs).figures


def _rear() -> list[LotReading]:
    temps = [5.0] * 4 + [9.0] * 2 + [5.0] * 5  # t = 0, 60, ..., 600
    inside = [LotReading(60.0 * i, t, "rear", event_id=f"r{i:02d}") for i, t in enumerate(temps)]
    # Before the loading and after the handover: not the lot's.
    return [
        LotReading(-60.0, 20.0, "rear", event_id="early"),
        *inside,
        LotReading(660.0, 20.0, "rear", event_id="late"),
    ]


def _front() -> list[LotReading]:
    # 60 °C a minute after 4 °C is no air (4 °C/min + 4 °C slack): a sensor fault until 120 s.
    return [
        LotReading(0.0, 4.0, "front", event_id="f0"),
        LotReading(60.0, 60.0, "front", event_id="f1"),
        LotReading(120.0, 4.0, "front", event_id="f2"),
        LotReading(600.0, 4.0, "front", event_id="f3"),
    ]


def _mkt(weighted: list[tuple[float, float]]) -> float:
    total = sum(w for _, w in weighted)
    acc = sum(w * math.exp(-10000.0 / (t + 273.15)) for t, w in weighted) / total
    return 10000.0 / -math.log(acc) - 273.15


def test_two_probes_by_hand() -> None:
    fig = analyse("MR-2611", _rear() + _front(), 0.0, 600.0, VACCINES, hold_max_s=HOLD).figures
    assert fig.probes == ("front", "rear")
    assert fig.readings == 11 + 4  # the two outside the carriage left out
    # The implausible 60 °C is no temperature; the 20 °C ones lie outside the carriage.
    assert (fig.min_c, fig.max_c) == (4.0, 9.0)
    # Rear: two readings above 8 °C holding 60 s each; back at 5 °C (≤ 7.7) at 360 s.
    assert fig.tor_min == pytest.approx(2.0)
    assert fig.excursions == 1
    assert fig.longest_excursion_min == pytest.approx(2.0)
    # The warmer probe's MKT: 5 °C for 480 s (the last reading holds 0), 9 °C for 120 s.
    assert fig.mkt_c == pytest.approx(_mkt([(5.0, 480.0), (9.0, 120.0)]), abs=1e-9)
    assert fig.sensor_fault_min == pytest.approx(1.0)
    assert fig.coverage == pytest.approx(1.0)
    assert fig.carriage_min == pytest.approx(10.0)
    assert fig.tor_budget_min == 60.0
    verdict = release_verdict(fig, VACCINES)
    assert verdict.outcome == "review"
    assert "out of range 2.0 min" in verdict.reason
    assert "sensor faults for 1.0 min" in verdict.reason


def test_each_probe_keeps_its_own_figures() -> None:
    result = analyse("MR-2611", _rear() + _front(), 0.0, 600.0, VACCINES, hold_max_s=HOLD)
    front, rear = result.probes
    assert (front.probe_id, rear.probe_id) == ("front", "rear")
    assert (front.compliance.tor_s, front.fault_s) == (0.0, 60.0)
    assert (rear.compliance.tor_s, rear.faults) == (120.0, ())


def test_coverage_is_the_held_time_over_the_carriage() -> None:
    readings = [LotReading(0.0, 5.0), LotReading(60.0, 5.0)]
    fig = lot_figures("L", readings, 0.0, 3600.0, VACCINES, hold_max_s=HOLD)
    assert fig.coverage == pytest.approx(60.0 / 3600.0)
    assert fig.probes == ("",)
    # 59 min without readings could hide the 60 min budget? Not quite: pass.
    assert release_verdict(fig, VACCINES).outcome == "pass"
    fig = lot_figures("L", readings, 0.0, 3660.0, VACCINES, hold_max_s=HOLD)
    assert release_verdict(fig, VACCINES).outcome == "review"


def test_a_lot_not_loaded_yet_has_no_readings_and_is_never_passed() -> None:
    fig = lot_figures("L", _rear(), None, 600.0, VACCINES, hold_max_s=HOLD)
    assert (fig.readings, fig.coverage, fig.probes, fig.mkt_c) == (0, 0.0, (), None)
    assert release_verdict(fig, VACCINES).outcome == "review"


def test_a_rejection_at_pod_travels_with_the_figures() -> None:
    fig = lot_figures(
        "L",
        _front()[:1] + _front()[2:],
        0.0,
        600.0,
        VACCINES,
        hold_max_s=HOLD,
        rejected_at_pod=True,
        pod_by="A. Otieno",
        pod_stop="Kisumu",
        pod_note="warm cartons",
    )
    verdict = release_verdict(fig, VACCINES)
    assert verdict.outcome == "fail"
    assert verdict.reason == "rejected at proof of delivery at Kisumu by A. Otieno: warm cartons"
