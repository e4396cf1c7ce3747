"""Each Ingestion scenario, simulated and run through the rules, raises exactly its alerts.

The expected alerts are written by hand in the scenario files (``[[expect]]``; ``[[allow]]``
are tolerated side effects); nothing here derives them from the rules. Each scenario runs from
four hours of the day: the ambient air, and with it the cargo, follows the hour, so the lists
must hold at night, in the morning, in the afternoon heat and in the evening.
"""

from __future__ import annotations

import pytest
from tests.unit.rules_support import REGISTRY, T0, Run

from logistream.errors import InvalidReading
from logistream.events import Reading, decode_reading
from logistream.ingest.fleet import build_fleet
from logistream.registry.scenarios import load_all_scenarios, load_scenario

SCENARIOS = sorted(load_all_scenarios(REGISTRY))
SEED = 42
HOURS = {"03:00": T0, "09:00": T0 + 6 * 3600, "15:00": T0 + 12 * 3600, "21:00": T0 + 18 * 3600}
"""Local time (EAT) of each start: T0 is 00:00 UTC."""


def simulate(name: str, start: float) -> Run:
    scenario = load_scenario(name, REGISTRY)
    print(f"scenario {name}: seed={SEED} start={start}")
    fleet = build_fleet(
        REGISTRY,
        scenario,
        trucks=None,
        seed=SEED,
        start=start,
        rate_hz=max(1.0, scenario.min_rate_hz),
    )
    run = Run()
    for t, emissions in fleet.ticks(scenario.duration_min * 60.0):
        readings = []
        for emission in emissions:
            if isinstance(emission, Reading):
                readings.append(emission)
                continue
            # Produced "now" in the sped-up run: the record timestamp is the tick's time.
            try:
                readings.append(decode_reading(emission.value, record_ts_ms=int(t * 1000)))
            except InvalidReading:
                continue
        run.feed(readings)
    return run


@pytest.mark.parametrize("hour", HOURS)
@pytest.mark.parametrize("name", ["none", *SCENARIOS])
def test_scenario_raises_exactly_its_expected_alerts(name: str, hour: str) -> None:
    scenario = load_scenario(name, REGISTRY)
    run = simulate(name, HOURS[hour])
    raised = {(c.truck_id, c.rule) for c in run.changes if c.state == "open"}
    expected = {(a.truck, a.rule) for a in scenario.expect}
    allowed = expected | {(a.truck, a.rule) for a in scenario.allow}
    assert expected - raised == set(), "expected alerts that did not open"
    assert raised - allowed == set(), "alerts the scenario does not expect"
