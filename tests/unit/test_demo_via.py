"""``logistream demo --via``: which children it starts and what it says while the stack starts.
Pure: no process is started."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
import typer

from logistream.config import Settings
from logistream.demo import TELTONIKA_PORT, Child, _children, _wait_ready, starting_text


def test_the_start_line_names_every_server_of_the_local_stack_mosquitto_too() -> None:
    assert starting_text(["postgres", "redis", "kafka", "mosquitto"]) == (
        "starting the local stack (PostgreSQL, Redis, Kafka, Mosquitto) …"
    )
    # A broker named by LOGISTREAM_MQTT_URL is not started here, so not named.
    assert starting_text(["postgres", "redis", "kafka"]) == (
        "starting the local stack (PostgreSQL, Redis, Kafka) …"
    )


def _names_and_simulate(tmp_path: Path, via: str) -> tuple[list[str], list[str]]:
    children = _children(Settings(home=tmp_path), 8501, 8600, 60.0, None, via)
    simulator = next(c for c in children if c.name == "simulator")
    return [c.name for c in children], simulator.argv


def test_kafka_runs_no_gateway(tmp_path: Path) -> None:
    names, simulate = _names_and_simulate(tmp_path, "kafka")
    assert "gateway" not in names
    assert "--via" not in simulate


def test_mqtt_starts_the_gateway_before_the_simulator_and_waits_for_its_subscription(
    tmp_path: Path,
) -> None:
    children = _children(Settings(home=tmp_path), 8501, 8600, 60.0, None, "mqtt")
    names = [c.name for c in children]
    assert names.index("gateway") < names.index("simulator")
    gateway = children[names.index("gateway")]
    assert gateway.argv[-4:] == ["gateway", "mqtt", "--instance", "demo"]
    assert gateway.ready == "MQTT gateway ready"
    assert children[names.index("simulator")].argv[-2:] == ["--via", "mqtt"]


def test_teltonika_points_the_simulator_at_the_gateways_port(tmp_path: Path) -> None:
    names, simulate = _names_and_simulate(tmp_path, "teltonika")
    assert names.index("gateway") < names.index("simulator")
    assert simulate[-4:] == [
        "--via",
        "teltonika",
        "--gateway-address",
        f"127.0.0.1:{TELTONIKA_PORT}",
    ]


def _started(tmp_path: Path, script: str, ready: str) -> tuple[Child, int]:
    log = tmp_path / "child.log"
    log.write_text("MQTT gateway ready: from an earlier run\n")
    child = Child("gateway", ["sh", "-c", script], log, ready=ready)
    with log.open("ab") as out:
        log_from = out.tell()
        child.process = subprocess.Popen(child.argv, stdout=out, stderr=subprocess.STDOUT)
    return child, log_from


def test_waiting_for_a_child_reads_only_this_runs_log_and_returns_once_ready(
    tmp_path: Path,
) -> None:
    child, log_from = _started(tmp_path, "sleep 0.5; echo MQTT gateway ready; sleep 30", "ready")
    began = time.monotonic()
    try:
        _wait_ready(child, log_from, threading.Event())
        assert time.monotonic() - began >= 0.4  # not fooled by the earlier run's line
    finally:
        assert child.process is not None
        child.process.kill()
        child.process.wait()


def test_a_child_that_dies_before_it_is_ready_stops_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    child, log_from = _started(tmp_path, "echo cannot reach the broker; exit 3", "ready")
    with pytest.raises(typer.Exit) as stopped:
        _wait_ready(child, log_from, threading.Event())
    assert stopped.value.exit_code == 1
    assert "gateway stopped (exit 3); see" in capsys.readouterr().err
