"""Scenario 9: the device gateways between real trackers' protocols and the real pipeline.

9a. The stack's Mosquitto is stopped and started again (twice, at seeded moments) while a device
    publishes with QoS 1 and ``logistream gateway mqtt`` runs: the device's client keeps its
    session and re-sends what the broker did not acknowledge, the broker keeps the gateway's
    queued messages on disk, so every reading the device sent reaches Kafka and the archive
    holds it exactly once.
9b. ``kill -9`` of the gateway at seeded moments while ``mosquitto_pub`` (a client LogiStream
    did not write) streams 20,000 readings: a message is acknowledged to the broker only after
    Kafka took its record, so the real bridge archives each reading exactly once.
9c. ``kill -9`` of ``logistream gateway teltonika`` at seeded moments while a two-probe tracker
    sends 20,000 readings in Codec 8/8E packets: a packet is answered only after Kafka took its
    readings, and the tracker sends it again (after reconnecting) until its reply counts them.

The oracle of all three: the archive holds the exact set of event ids the device's readings carry
(computed here as the gateway computes them: device, probe, the device's timestamp text), once
each. Kafka may hold a reading twice (produced, then killed before the acknowledgement).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from tests import teltonika_tracker
from tests.faults.support import Pipeline, Proc, Row, finish, pipeline, record_recovery
from tests.helpers import seeded_random, wait_until

from logistream.ingest.device_event_ids import device_event_id
from logistream.stack.mqtt_accounts import device_password, gateway_credentials, telemetry_topic
from logistream.stack.process import free_port

DEVICE = "tu-kcf337f"
TRUCK = "KCF 337F"  # one implicit probe
ARCHIVE_TIMEOUT_S = 120.0


def _lines(total: int) -> tuple[list[str], set[str]]:
    """``total`` readings one second apart ending now, and the event ids the gateway gives them
    (whole-second timestamps, so the JSON text of each is plain)."""
    start = int(time.time()) - total
    lines, ids = [], set()
    for i in range(total):
        stamp = start + i
        lines.append(json.dumps({"temp": 4.0 + (i % 7) / 10, "timestamp": stamp}))
        ids.add(device_event_id(DEVICE, None, json.dumps(stamp)))
    return lines, ids


def _gateway(line: Pipeline, instance: str) -> Proc:
    # One gateway, plain subscription: Mosquitto 2.0 forgets shared ones when it restarts.
    return line.proc("gateway", "gateway", "mqtt", "--instance", instance)


def _ready_count(gateway: Proc) -> int:
    return gateway.out.read_text(errors="replace").count("MQTT gateway ready")


def _wait_ready(gateway: Proc, times: int) -> None:
    wait_until(
        lambda: _ready_count(gateway) >= times or not gateway.alive(),
        timeout=60,
        what=f"the gateway's subscription #{times}",
    )
    assert gateway.alive(), f"the gateway exited: {gateway.tail()}"


def _archived(line: Pipeline, truck: str = TRUCK) -> Counter[str]:
    try:
        with line.db() as conn:
            rows = conn.execute("SELECT event_id FROM readings WHERE truck_id = %s", [truck])
            return Counter(str(r[0]) for r in rows)
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):  # no table yet
        return Counter()


def _check(
    line: Pipeline, row: Row, expected: set[str], truck: str = TRUCK
) -> tuple[list[str], float]:
    """Wait (bounded) for the archive to hold every expected reading, then fill ``row``; the
    problems found, and when (``time.monotonic()``) the waiting ended."""
    began = time.monotonic()
    while time.monotonic() - began < ARCHIVE_TIMEOUT_S:
        if len(_archived(line, truck)) >= len(expected):
            break
        time.sleep(0.5)
    complete_at = time.monotonic()
    time.sleep(3.0)  # anything twice would show now too
    archived = _archived(line, truck)
    on_kafka = Counter(
        json.loads(m.value()).get("event_id")
        for m in line.read_topic(line.settings.topic_telemetry)
    )
    row.acknowledged = len(expected)
    row.archived = sum(archived.values())
    row.duplicates = row.archived - len(archived)
    missing = expected - set(archived)
    row.missing = len(missing)
    problems: list[str] = []
    if missing:
        problems.append(
            f"{len(missing)} readings missing from the archive "
            f"({len(expected - set(on_kafka))} of them never reached Kafka), "
            f"e.g. {sorted(missing)[:3]}"
        )
    if row.duplicates:
        problems.append(f"{row.duplicates} readings archived more than once")
    if set(archived) - expected:
        problems.append(f"{len(set(archived) - expected)} archived readings nobody sent")
    twice = sum(n - 1 for n in on_kafka.values() if n > 1)
    row.notes += f"; {twice} readings produced to Kafka twice (re-delivered, archived once)"
    row.result = "PASS" if not problems else "FAIL"
    return problems, complete_at


class Device:
    """The device's own MQTT client (paho): a persistent session, QoS 1, reconnecting on its own
    and re-sending whatever the broker did not acknowledge; counts the broker's PUBACKs."""

    def __init__(self, line: Pipeline) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        broker = gateway_credentials(line.settings)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fault-device-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.username_pw_set(DEVICE, device_password(line.settings, DEVICE))
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 1)
        self.acked = 0
        self._lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()

    def _on_publish(self, *_args: Any) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, payload: str) -> None:
        # Queued by paho while the broker is away, sent when the connection is back.
        self.client.publish(telemetry_topic(DEVICE), payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mosquitto_restarted_while_a_device_publishes(tmp_path: Path, request: Any) -> None:
    """6,000 readings at ~1,000/s; Mosquitto stopped (SIGTERM, it saves its sessions) and
    started again twice during the stream, each time down for 1-3 s."""
    rng = seeded_random("fault 9a: Mosquitto restarted under the gateway")
    name = "9a mosquitto restart (gateway)"
    total, restarts = 6000, 2
    lines, expected = _lines(total)
    instance = f"fault{uuid.uuid4().hex[:6]}"
    with pipeline(tmp_path) as line:
        mosquitto = line.running.stack.mosquitto
        bridge = line.bridge().start()
        gateway = _gateway(line, instance).start()
        line.wait_ready(bridge)
        _wait_ready(gateway, 1)
        device = Device(line)
        at = sorted(rng.sample(range(1000, total - 1000), restarts))
        print(f"restarting Mosquitto after readings {at}")
        down: list[float] = []
        last_up = time.monotonic()
        try:
            for i, payload in enumerate(lines):
                if i in at:
                    began = time.monotonic()
                    mosquitto.down()
                    time.sleep(rng.uniform(1.0, 3.0))  # the device goes on publishing
                    mosquitto.up()
                    last_up = time.monotonic()
                    down.append(round(last_up - began, 2))
                device.publish(payload)
                time.sleep(0.001)
            wait_until(
                lambda: device.acked >= total,
                timeout=120,
                what=f"the broker's acknowledgement of all {total} readings",
            )
        finally:
            device.close()
        row = Row(name, notes=f"broker down {down} s")
        problems, complete_at = _check(line, row, expected)
        if not problems:
            record_recovery(name, "broker_down_s", down)
            record_recovery(name, "last_restart_to_archived_s", round(complete_at - last_up, 1))
        if not gateway.alive():
            problems.append(f"the gateway exited: {gateway.tail()}")
        elif problems:
            problems.append(
                f"gateway subscribed {_ready_count(gateway)} times (1 + {restarts} expected); "
                f"its log: {gateway.tail(8)}"
            )
        else:
            assert gateway.stop() == 0, gateway.tail()
        assert bridge.stop() == 0, bridge.tail()
    finish(request, row, problems)


def test_gateway_kill_9_at_seeded_moments_during_20000_readings(
    tmp_path: Path, request: Any
) -> None:
    """mosquitto_pub -l streams 20,000 readings; the gateway is killed with SIGKILL 6 times,
    at seeded lines, and restarted after 0-1 s while the device goes on publishing."""
    rng = seeded_random("fault 9b: kill -9 the MQTT gateway")
    name = "9b kill -9 gateway (20,000)"
    total, kills = 20_000, 6
    lines, expected = _lines(total)
    instance = f"fault{uuid.uuid4().hex[:6]}"
    with pipeline(tmp_path) as line:
        bridge = line.bridge().start()
        gateway = _gateway(line, instance).start()
        line.wait_ready(bridge)
        _wait_ready(gateway, 1)
        broker = gateway_credentials(line.settings)
        publisher = subprocess.Popen(
            [
                *("mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1"),
                *("-V", "mqttv311", "-u", DEVICE, "-P", device_password(line.settings, DEVICE)),
                *("-t", telemetry_topic(DEVICE), "-l"),
            ],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert publisher.stdin is not None
        kill_after = sorted(rng.sample(range(1000, total - 1000), kills))
        print(f"killing the gateway after lines {kill_after}")
        sent = 0
        chunk = 250  # ~2,500 readings/s: a stream, not one burst
        starts = 1
        for at in [*kill_after, total]:
            while sent < at:
                upto = min(at, sent + chunk)
                publisher.stdin.write("".join(x + "\n" for x in lines[sent:upto]))
                publisher.stdin.flush()
                sent = upto
                time.sleep(0.1)
            if at == total:
                break
            # Killed while it forwards: subscribed again since its last start, then a moment.
            _wait_ready(gateway, starts)
            time.sleep(rng.uniform(0.2, 1.0))
            gateway.kill9()
            time.sleep(rng.uniform(0.0, 1.0))  # readings keep coming while it is down
            gateway.start()
            starts += 1
        publisher.stdin.close()
        assert publisher.wait(120) == 0
        row = Row(name, notes=f"{kills} kills after lines {kill_after}")
        problems, _complete_at = _check(line, row, expected)
        _stop(gateway, bridge, problems)
    finish(request, row, problems)


def _stop(gateway: Proc, bridge: Proc, problems: list[str]) -> None:
    """Stop the gateway (a problem if it had died) and the bridge, each cleanly."""
    if gateway.alive():
        assert gateway.stop() == 0, gateway.tail()
    else:
        problems.append(f"the gateway exited: {gateway.tail()}")
    assert bridge.stop() == 0, bridge.tail()


def _listening(gateway: Proc) -> int:
    """How many starts of the Teltonika gateway have said they listen."""
    out = gateway.out
    return out.read_text(errors="replace").count("listening on") if out.exists() else 0


def test_teltonika_gateway_kill_9_at_seeded_moments_during_20000_readings(
    tmp_path: Path, request: Any
) -> None:
    """A two-probe tracker sends 1,000 packets of 10 records (20,000 readings); the gateway is
    killed with SIGKILL 6 times, at seeded packets, and restarted after 0-1 s."""
    rng = seeded_random("fault 9c: kill -9 the Teltonika gateway")
    name = "9c kill -9 Teltonika gateway (20,000)"
    count, records, kills = 1_000, 10, 6
    start_ms = (int(time.time()) - 2 * count * records) * 1000
    expected = teltonika_tracker.expected_ids(start_ms, count * records)
    port = free_port()
    with pipeline(tmp_path) as line:
        bridge = line.bridge().start()
        argv = ("gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port))
        gateway = line.proc("teltonika", *argv)
        served_before = 0
        gateway.start()
        line.wait_ready(bridge)
        tracker = teltonika_tracker.Tracker(
            port, teltonika_tracker.packets(start_ms, count, records), records, pace_s=0.01
        )
        tracker.start()
        kill_after = sorted(rng.sample(range(50, count - 50), kills))
        print(f"killing the gateway after packets {kill_after}")
        for at in kill_after:
            wait_until(
                lambda: tracker.sent >= at or tracker.done.is_set(),  # noqa: B023 - read now
                timeout=300,
                what=f"packet {at} acknowledged",
            )
            time.sleep(rng.uniform(0.0, 0.5))
            gateway.kill9()
            time.sleep(rng.uniform(0.0, 1.0))  # the tracker retries while it is down
            served_before = _listening(gateway)
            gateway.start()
        tracker.join(600)
        row = Row(name, notes=f"{kills} kills after packets {kill_after}")
        problems = [] if tracker.done.is_set() else ["the tracker did not finish"]
        if tracker.error is not None:
            problems.append(f"the tracker failed: {tracker.error!r}")
        found, _complete_at = _check(line, row, expected, teltonika_tracker.TRUCK)
        problems += found
        row.notes += f"; the tracker sent {tracker.resent} packets again"
        # A SIGTERM before the interpreter installed its handler would kill a gateway that is
        # still starting: stop the last one once it listens (one killed while starting never
        # said so: count from its own start).
        wait_until(
            lambda: _listening(gateway) > served_before or not gateway.alive(),
            timeout=60,
            what="the last gateway to listen",
        )
        _stop(gateway, bridge, problems)
    finish(request, row, problems)
