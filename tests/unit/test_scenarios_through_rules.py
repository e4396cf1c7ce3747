"""Every scenario through the rules engine, in-process, at four hours of the day.

The integration test sends each scenario through Kafka and Redis from one fixed start. The
ambient air, and with it the cargo, follows the hour, so this sweep checks that the scenarios'
alert lists hold at night, in the morning, in the afternoon heat and in the evening too: the
expected alerts all open and no other does.
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from tests.unit.rules_support import REGISTRY, Run

from logistream.ingest.faults import RawMessage
from logistream.ingest.simulator import build_fleet
from logistream.registry.scenarios import load_all_scenarios
from logistream.speed.rules.offline import fleet_clock

SCENARIOS = load_all_scenarios(REGISTRY)
SEED = 42
HOURS = ("03:00", "09:00", "15:00", "21:00")
SWEEP_EVERY_S = 60.0


def _raised(name: str, start: float) -> set[tuple[str, str]]:
    """(truck, rule) of every alert the scenario opens, with the stream processor's watermark."""
    scenario = SCENARIOS[name]
    fleet = build_fleet(
        REGISTRY,
        scenario,
        trucks=None,
        seed=SEED,
        start=start,
        rate_hz=max(1.0, scenario.min_rate_hz),
    )
    run = Run()
    offline = run.rules.offline
    swept = -math.inf
    for item in fleet.emissions(scenario.duration_min * 60.0):
        if isinstance(item, RawMessage):
            continue  # not a reading: the decoder sends it to the dead-letter topic
        run.feed([item])
        clock = fleet_clock([s.last.timestamp for s in run.states.values() if s.last])
        if clock is None or clock - offline.watermark_lateness_s < swept + SWEEP_EVERY_S:
            continue
        swept = clock - offline.watermark_lateness_s
        for truck_id, state in run.states.items():
            if state.last and swept - state.last.timestamp > offline.offline_s:
                run.watermark(truck_id, swept)
    return {(a.truck_id, a.rule) for a in run.changes}


@pytest.mark.parametrize("hour", HOURS)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_raises_exactly_its_alerts_at_any_hour(name: str, hour: str) -> None:
    scenario = SCENARIOS[name]
    start = datetime.fromisoformat(f"2026-03-02T{hour}:00+03:00").timestamp()
    print(f"scenario {name}: seed={SEED} start={hour} EAT")
    raised = _raised(name, start)
    expected = {(a.truck, a.rule) for a in scenario.expect}
    allowed = expected | {(a.truck, a.rule) for a in scenario.allow}
    assert expected - raised == set(), "expected alerts that did not open"
    assert raised - allowed == set(), "alerts the scenario does not expect"
