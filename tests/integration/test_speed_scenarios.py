"""Each Ingestion scenario, through real Kafka and Redis, raises exactly its expected alerts.

`logistream simulate --scenario NAME` fills the topic as fast as it can; one `logistream speed`
processes it; the alerts in Redis are compared with the scenario file's hand-written lists.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis
from tests.helpers import wait_until
from tests.integration.speed_support import LOGISTREAM, speed_process

from logistream import live_views
from logistream.config import Settings
from logistream.kafka import make_consumer
from logistream.registry import load_registry
from logistream.registry.scenarios import load_all_scenarios, load_scenario

REGISTRY = load_registry()
SEED = 42
# A fixed start makes the readings byte-identical on every run: the cargo's temperature follows
# the hour of the day (ambient air), so a start taken from the clock would vary with the time the
# suite runs. tests/unit/test_rules_scenarios.py runs them in-process at four other hours.
START = "2026-03-02T10:00:00+03:00"


def _records_in_topic(settings: Settings) -> int:
    from confluent_kafka import TopicPartition

    consumer = make_consumer(settings, "watermarks")
    meta = consumer.list_topics(settings.topic_telemetry, timeout=30)
    total = 0
    for p in meta.topics[settings.topic_telemetry].partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(settings.topic_telemetry, p), timeout=30
        )
        total += high - low
    consumer.close()
    return total


def _consumed(client: redis.Redis) -> int:
    beat = live_views.read_heartbeat(client)
    if beat is None:
        return 0
    r = beat.record
    return r.processed + r.skipped + r.late


@pytest.mark.parametrize("name", sorted(load_all_scenarios(REGISTRY)))
def test_scenario_produces_exactly_its_expected_alerts(
    name: str,
    settings: Settings,
    settings_env: dict[str, str],
    client: redis.Redis,
    tmp_path: Path,
) -> None:
    scenario = load_scenario(name, REGISTRY)
    print(f"scenario {name}: seed={SEED} start={START}")
    sim = subprocess.run(
        [
            LOGISTREAM,
            "simulate",
            "--scenario",
            name,
            "--speedup",
            "0",
            "--seed",
            str(SEED),
            "--start",
            START,
            "--rate",
            str(max(1.0, scenario.min_rate_hz)),
        ],
        env=settings_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert sim.returncode == 0, sim.stderr
    total = _records_in_topic(settings)
    with speed_process(settings_env, log=tmp_path / "speed.log"):
        wait_until(lambda: _consumed(client) >= total, timeout=300, what=f"{total} records")
    raised = {(a.truck_id, a.rule) for a in live_views.read_alerts(client, limit=100_000)}
    expected = {(a.truck, a.rule) for a in scenario.expect}
    allowed = expected | {(a.truck, a.rule) for a in scenario.allow}
    assert expected - raised == set(), "expected alerts that did not open"
    assert raised - allowed == set(), "alerts the scenario does not expect"
