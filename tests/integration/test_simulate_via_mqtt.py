"""``logistream simulate --via mqtt|teltonika`` through the real gateways: the real Mosquitto
and ``logistream gateway mqtt``, or ``logistream gateway teltonika`` over TCP, into the real
Kafka. Each truck with a device of that kind reports as it (with its probe ids), the others go
straight to Kafka, and every reading of the same seed's ``--dry-run`` arrives."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import LOGISTREAM, running, wait_until
from tests.integration.mqtt_support import end_gateway_session

from logistream.config import Settings
from logistream.ingest.via_devices import POSITION_OFFSET_C
from logistream.kafka import make_consumer

SEED = 7
DURATION_S = 20
RUN = ["--scenario", "none", "--duration", str(DURATION_S), "--seed", str(SEED), "--speedup", "0"]


def _simulate(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [LOGISTREAM, "simulate", *args], env=env, capture_output=True, text=True, timeout=300
    )
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr
    return done


def _expected(start: str, trucks: int, env: dict[str, str], log: Path) -> list[dict[str, Any]]:
    """The readings of the run, from ``--dry-run`` with the same seed and start."""
    done = _simulate([*RUN, "--trucks", str(trucks), "--start", start, "--dry-run"], env, log)
    print(f"seed {SEED}, start {start}")
    return [json.loads(line) for line in done.stdout.splitlines()]


def _consume(settings: Settings, until: int, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Every reading on the test's telemetry topic (the key checked), once ``until`` are there
    and a quiet moment shows no more come."""
    consumer = make_consumer(settings, f"check-{uuid.uuid4().hex[:8]}")
    consumer.subscribe([settings.topic_telemetry])
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < until and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                assert msg.error() is None, msg.error()
                found.append(json.loads(msg.value()))
                assert msg.key() == found[-1]["truck_id"].encode()
        for msg in consumer.consume(1000, 3.0):
            found.append(json.loads(msg.value()))
    finally:
        consumer.close()
    return found


def _start() -> str:
    # A whole minute a few minutes back, so the run's readings are in the past.
    return time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime(time.time() - 600))


@contextmanager
def _mqtt_gateway(settings: Settings, env: dict[str, str], log: Path) -> Iterator[None]:
    """``logistream gateway mqtt`` with its own instance and group; its persistent session is
    ended on the way out (as test_mqtt_gateway.py does), so later tests' messages skip it."""
    instance, group = f"t{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    argv = [LOGISTREAM, "gateway", "mqtt", "--instance", instance, "--group", group]
    try:
        with running(argv, env, log, "gateway mqtt"):
            wait_until(
                lambda: "MQTT gateway ready" in log.read_text(errors="replace"),
                timeout=60,
                what=f"the gateway's subscription ({log})",
            )
            yield
    finally:
        end_gateway_session(settings, instance)


# Its gateway takes every device's topic: on a broker the workers share, one such test at a time.
@pytest.mark.usefixtures("mqtt_broker_alone")
def test_simulate_via_mqtt_reaches_kafka_as_the_trucks_devices_with_their_probes(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    start = _start()
    expected = _expected(start, 3, settings_env, tmp_path / "dry.log")
    by_truck = Counter(r["truck_id"] for r in expected)
    assert by_truck == {"KBX 123A": DURATION_S, "KCA 452B": DURATION_S, "KCB 781C": DURATION_S}
    with _mqtt_gateway(settings, settings_env, tmp_path / "gateway.log"):
        done = _simulate(
            [*RUN, "--trucks", "3", "--start", start, "--via", "mqtt"],
            settings_env,
            tmp_path / "simulate.log",
        )
        # KCB 781C has two probes: one message per probe.
        found = _consume(settings, until=4 * DURATION_S)
    assert "KBX 123A" in done.stderr  # named: no MQTT device, straight to Kafka
    # KCA 452B's one probe and KCB 781C's two: three messages a second.
    assert f"published {3 * DURATION_S} messages as 2 MQTT devices" in done.stderr
    assert f"acknowledged {3 * DURATION_S} (QoS 1)" in done.stderr
    assert Counter((r["truck_id"], r.get("probe_id")) for r in found) == {
        ("KBX 123A", None): DURATION_S,
        ("KCA 452B", "product"): DURATION_S,
        ("KCB 781C", "front"): DURATION_S,
        ("KCB 781C", "rear"): DURATION_S,
    }
    assert len({r["event_id"] for r in found}) == len(found)
    sent = {(r["truck_id"], r["timestamp"]): r for r in expected}
    for got in found:
        want = sent[(got["truck_id"], got["timestamp"])]
        offset = POSITION_OFFSET_C["rear"] if got.get("probe_id") == "rear" else 0.0
        assert got["temp"] == round(want["temp"] + offset, 2)
        assert got["trip_id"] == want["trip_id"]
    # The gateway adds the registry's calibration offset beside the raw value.
    assert {r.get("calibration_offset_c") for r in found if r["truck_id"] == "KCA 452B"} == {0.3}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_simulate_via_teltonika_reaches_kafka_as_the_trucks_trackers(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    start = _start()
    # KBX 123A: FMC130 with front and rear probes; KCD 219D and KCE 564E: one probe each.
    trackers = {"KBX 123A", "KCD 219D", "KCE 564E"}
    expected = _expected(start, 5, settings_env, tmp_path / "dry.log")
    port = _free_port()
    log = tmp_path / "gateway.log"
    argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port)]
    with running(argv, settings_env, log, "gateway teltonika") as proc:
        wait_until(lambda: "listening" in log.read_text() or proc.poll() is not None, 90)
        assert proc.poll() is None, log.read_text()
        gateway = ["--gateway-address", f"127.0.0.1:{port}"]
        done = _simulate(
            [*RUN, "--trucks", "5", "--start", start, "--via", "teltonika", *gateway],
            settings_env,
            tmp_path / "simulate.log",
        )
        found = _consume(settings, until=6 * DURATION_S)
    assert f"sent {3 * DURATION_S} readings as 3 Teltonika trackers" in done.stderr
    assert f"{3 * DURATION_S} acknowledged" in done.stderr
    assert Counter((r["truck_id"], r.get("probe_id")) for r in found) == {
        ("KBX 123A", "front"): DURATION_S,
        ("KBX 123A", "rear"): DURATION_S,
        ("KCA 452B", None): DURATION_S,
        ("KCB 781C", None): DURATION_S,
        ("KCD 219D", None): DURATION_S,
        ("KCE 564E", None): DURATION_S,
    }
    assert len({r["event_id"] for r in found}) == len(found)
    sent = {(r["truck_id"], r["timestamp"]): r for r in expected}
    for got in found:
        want = sent[(got["truck_id"], got["timestamp"])]
        if got["truck_id"] not in trackers:
            assert got == want  # straight to Kafka, byte for byte the dry run's reading
            continue
        offset = POSITION_OFFSET_C["rear"] if got.get("probe_id") == "rear" else 0.0
        assert abs(got["temp"] - (want["temp"] + offset)) <= 0.05 + 1e-9  # Dallas: 0.1 °C
        assert (got["lat"], got["lon"]) == (want["lat"], want["lon"])
        assert got["door_open"] == want["door_open"]
        assert "trip_id" not in got  # a tracker does not know the trip
