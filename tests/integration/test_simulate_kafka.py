"""``logistream simulate`` against a real Kafka: what is acknowledged is exactly what arrives.

The expected messages come from ``--dry-run`` with the same seed and start (byte-identical by
contract), so every comparison is of real bytes consumed from the topic.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import LOGISTREAM, seeded_random, wait_until

from logistream.config import Settings
from logistream.kafka import make_consumer

START = "2025-03-03T06:00:00+03:00"
SUMMARY = re.compile(
    r"sent (?P<sent>\d+), acknowledged (?P<acked>\d+), failed (?P<failed>\d+); "
    r"spooled (?P<spooled>\d+), drained (?P<drained>\d+), dropped (?P<dropped>\d+), "
    r"left in spool (?P<left>\d+)"
)


def _dry_run(args: list[str], env: dict[str, str]) -> list[bytes]:
    done = subprocess.run(
        [LOGISTREAM, "simulate", *args, "--dry-run"], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.splitlines()


def _summary(stdout: str) -> dict[str, int]:
    found = SUMMARY.search(stdout)
    assert found, f"no summary in output: {stdout!r}"
    return {k: int(v) for k, v in found.groupdict().items()}


def _consume_all(
    settings: Settings, expected: int, timeout: float = 120.0
) -> list[tuple[bytes | None, bytes]]:
    """Every message of the telemetry topic: waits for ``expected``, then for stragglers."""
    consumer = make_consumer(settings, f"check-{uuid.uuid4().hex[:8]}")
    consumer.subscribe([settings.topic_telemetry])
    out: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(10_000, timeout=0.5)
            for message in batch:
                assert message.error() is None, message.error()
                out.append((message.key(), message.value()))
            if len(out) >= expected:
                # Keep reading a little: more than expected would be a duplicate.
                quiet_until = quiet_until or time.monotonic() + 3.0
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return out


def test_scenario_run_delivers_exactly_what_was_acknowledged(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    seed = seeded_random("simulate").randrange(1_000_000)
    args = [
        "--scenario",
        "malformed",
        "--trucks",
        "12",
        "--duration",
        "600",
        "--seed",
        str(seed),
        "--start",
        START,
    ]
    expected = _dry_run(args, settings_env)
    done = subprocess.run(
        [LOGISTREAM, "simulate", *args, "--speedup", "0"],
        env=settings_env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    stats = _summary(done.stdout.decode())
    assert stats["acked"] == stats["sent"] == len(expected)
    assert stats["failed"] == stats["spooled"] == stats["left"] == 0

    consumed = _consume_all(settings, stats["acked"])
    assert len(consumed) == stats["acked"]
    assert Counter(value for _, value in consumed) == Counter(expected)
    # Readings are keyed by truck; the one message without truck_id has no key.
    keyless = [value for key, value in consumed if key is None]
    assert len(keyless) == 1
    assert b'"truck_id"' not in keyless[0]
    for key, value in consumed:
        if key is not None and value.startswith(b'{"truck_id":"'):
            assert value[13 : 13 + len(key)] == key


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], Settings]]:
    """A private Kafka (never the shared one) to stop and start, the simulator's environment
    pointing at it, and settings to read its topic."""
    from logistream.stack.kafka_server import KafkaServer
    from logistream.stack.process import free_port

    kafka_settings = Settings(
        home=tmp_path / "kafka-home",
        kafka_bootstrap=None,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap="512m",
        partitions=3,
    )
    server = KafkaServer(kafka_settings)
    server.up()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTREAM_")}
    env.update(
        LOGISTREAM_KAFKA_BOOTSTRAP=server.bootstrap,
        LOGISTREAM_HOME=str(tmp_path / "sim-home"),
        PYTHONUNBUFFERED="1",
    )
    try:
        yield server, env, Settings(home=tmp_path / "sim-home", kafka_bootstrap=server.bootstrap)
    finally:
        server.down()


def _fleet_args(name: str, duration_s: int) -> list[str]:
    seed = seeded_random(name).randrange(1_000_000)
    args = ["--scenario", "none", "--trucks", "4", "--rate", "5", "--duration", str(duration_s)]
    return [*args, "--seed", str(seed), "--start", START]


def _simulate_through_outage(
    tmp_path: Path,
    kafka: tuple[Any, dict[str, str], Settings],
    args: list[str],
    *,
    down_after_s: float,
    up_when: str,
    what: str,
    up_after_s: float = 0.0,
) -> None:
    """Run the simulator at speed-up 6, stop Kafka ``down_after_s`` into the run, start it
    again ``up_after_s`` after the simulator logs ``up_when``; then every reading of the run
    must have arrived, some of them through the spool, and twice only if its delivery failed
    in flight (see below)."""
    server, env, settings = kafka
    expected = _dry_run(args, env)
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [LOGISTREAM, "simulate", *args, "--speedup", "6"], env=env, stdout=out, stderr=err
        )
        try:
            time.sleep(down_after_s)
            assert process.poll() is None, err_path.read_text()
            server.down()
            wait_until(lambda: up_when in err_path.read_text(), timeout=60, what=what)
            time.sleep(up_after_s)
            server.up()
            process.wait(timeout=240)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err_path.read_text()
    out, err = out_path.read_text(), err_path.read_text()
    stats = _summary(out)
    print(out, err)
    assert stats["spooled"] > 0, "the spool was never used"
    assert stats["drained"] > 0, "the spool was never drained"
    assert stats["acked"] == len(expected)
    assert stats["left"] == stats["dropped"] == 0

    consumed = _consume_all(settings, len(expected))
    counts = Counter(value for _, value in consumed)
    # Every reading arrived. A reading in flight when the broker died has a failed delivery
    # report although the broker may have written it; it is sent again from the spool, so it
    # may arrive twice (the archive keeps its event_id once). Only those may: at most one extra
    # copy each, and no more than the failed deliveries.
    missing = set(expected) - set(counts)
    twice = [value for value, n in counts.items() if n > 1]
    assert not missing, f"{len(missing)} of {len(expected)} readings missing"
    assert set(counts) == set(expected), "a message that is no reading of the run"
    assert all(counts[value] == 2 for value in twice), "a reading arrived three times or more"
    assert len(twice) <= stats["failed"], (
        f"{len(twice)} readings arrived twice, more than the {stats['failed']} failed deliveries"
    )


def test_spool_delivers_each_reading_once_when_kafka_comes_back(
    tmp_path: Path, private_kafka: tuple[Any, dict[str, str], Settings]
) -> None:
    """Kafka is stopped mid-run and started again while the run goes on."""
    _simulate_through_outage(
        tmp_path,
        private_kafka,
        _fleet_args("spool", 300),
        down_after_s=6,
        up_when="spooling to",
        what="the simulator to notice Kafka is gone",
        up_after_s=4,
    )


def test_a_run_ending_while_kafka_restarts_waits_and_delivers_its_spool(
    tmp_path: Path, private_kafka: tuple[Any, dict[str, str], Settings]
) -> None:
    """The run's last reading is made while Kafka is down; Kafka is back within the stop's
    flush timeout, so the spool goes out in this run instead of waiting for the next one."""
    _simulate_through_outage(
        tmp_path,
        private_kafka,
        _fleet_args("spool at the end", 60),
        down_after_s=3,
        up_when="Kafka unreachable: trying for up to",
        what="the run to end while Kafka is down",
    )
