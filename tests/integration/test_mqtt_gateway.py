"""`logistream gateway mqtt` between the real Mosquitto and the real Kafka, fed by
`mosquitto_pub` (a client LogiStream did not write): a device's readings reach truck_telemetry
keyed by its truck, refusals stay out and are counted, and a gateway killed with SIGKILL at
seeded moments loses nothing: every reading is archived exactly once by the real bridge."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer
from tests.helpers import LOGISTREAM, running, seeded_random, stop_cleanly, wait_until
from tests.integration.mqtt_support import end_gateway_session, publish

from logistream.config import Settings
from logistream.stack.mqtt_accounts import device_password, gateway_credentials, telemetry_topic
from logistream.stack.process import free_port

# Its gateway takes every device's topic: on a broker the workers share, one such test at a time.
pytestmark = pytest.mark.usefixtures("mqtt_broker_alone")

DEVICE = "tu-kcf337f"  # KCF 337F, one implicit probe
TWO_PROBES = "tu-kcb781c"  # KCB 781C, probes front and rear


def _gateway(
    env: dict[str, str], log: Path, instance: str, group: str, *more: str
) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - the child keeps its own descriptor
    try:
        argv = [LOGISTREAM, "gateway", "mqtt", "--instance", instance, "--group", group, *more]
        return subprocess.Popen(argv, env=env, stdout=out, stderr=out)
    finally:
        out.close()


def _ready(log: Path, times: int = 1) -> None:
    wait_until(
        lambda: log.read_text(errors="replace").count("MQTT gateway ready") >= times,
        timeout=60,
        what=f"the gateway's subscription ({log})",
    )


def _consume(settings: Settings, until: int, timeout: float = 120.0) -> list[tuple[bytes, Any]]:
    """Every record on the telemetry topic (key, decoded value), once ``until`` are there."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic_telemetry])
    found: list[tuple[bytes, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < until and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                if msg.error() is None:
                    found.append((msg.key(), json.loads(msg.value())))
        # Anything that should not be there would arrive in the next moments too.
        for msg in consumer.consume(1000, 2.0):
            if msg.error() is None:
                found.append((msg.key(), json.loads(msg.value())))
    finally:
        consumer.close()
    return found


@contextmanager
def _forget_session(settings: Settings, instance: str) -> Iterator[None]:
    """On the way out, end the gateway's persistent session (a clean-session login with its
    client id), so it takes no share of the messages of later tests on the same broker."""
    try:
        yield
    finally:
        end_gateway_session(settings, instance)


def test_readings_reach_kafka_keyed_by_truck_and_refusals_stay_out(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    instance, group = f"t{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    log = tmp_path / "gateway.log"
    now = time.time()
    metrics_port = free_port()
    with _forget_session(settings, instance):
        gateway = _gateway(settings_env, log, instance, group, "--metrics-port", str(metrics_port))
        try:
            _ready(log)
            # The password as the README tells an installer to get it.
            password = subprocess.run(
                [LOGISTREAM, "stack", "mqtt-password", DEVICE],
                env=settings_env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            assert password == device_password(settings, DEVICE)
            publish(settings, DEVICE, [json.dumps({"temp": 4.2, "timestamp": now})])
            publish(
                settings,
                TWO_PROBES,
                [
                    json.dumps({"temp": 3.0, "timestamp": now, "probe_id": "front"}),
                    json.dumps({"temp": 3.5, "timestamp": now, "probe_id": "rear"}),
                    json.dumps({"temp": 3.9, "timestamp": now}),  # which probe? refused
                    json.dumps({"truck_id": "KBX 123A", "temp": 1, "timestamp": now}),  # refused
                ],
            )
            found = _consume(settings, until=3)
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read()
        finally:
            stop_cleanly(gateway, "gateway mqtt", log)
    assert sorted((k, v["temp"], v.get("probe_id")) for k, v in found) == [
        (b"KCB 781C", 3.0, "front"),
        (b"KCB 781C", 3.5, "rear"),
        (b"KCF 337F", 4.2, None),
    ]
    assert all(v["truck_id"] == k.decode() for k, v in found)
    # Two probes at the same second are two readings, with two event ids.
    assert len({v["event_id"] for _k, v in found}) == 3
    rear = next(v for _k, v in found if v.get("probe_id") == "rear")
    assert rear["calibration_offset_c"] == -0.1  # the raw value stays; the offset travels
    text = log.read_text()
    assert "3 forwarded, 2 refused" in text
    assert "unknown_probe" in text
    assert "wrong_truck" in text
    counted = metrics.decode()
    assert 'logistream_mqtt_messages_total{outcome="forwarded",reason=""} 3.0' in counted
    assert 'logistream_mqtt_messages_total{outcome="refused",reason="unknown_probe"} 1.0' in counted
    assert 'logistream_mqtt_messages_total{outcome="refused",reason="wrong_truck"} 1.0' in counted


def test_sigkill_at_seeded_moments_loses_nothing_and_duplicates_nothing_in_the_archive(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    rng = seeded_random("mqtt-gateway-kill")
    total, kills = 3000, 4
    instance, group = f"t{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    log = tmp_path / "gateway.log"
    start = time.time() - total  # one reading a second, ending now
    lines = [json.dumps({"temp": 4.0 + (i % 7) / 10, "timestamp": start + i}) for i in range(total)]
    with _forget_session(settings, instance):
        gateway = _gateway(settings_env, log, instance, group)
        _ready(log)
        publisher = subprocess.Popen(
            [
                *("mosquitto_pub", "-h", gateway_credentials(settings).host),
                *("-p", str(gateway_credentials(settings).port), "-q", "1", "-V", "mqttv311"),
                *("-u", DEVICE, "-P", device_password(settings, DEVICE)),
                *("-t", telemetry_topic(DEVICE), "-l"),
            ],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert publisher.stdin is not None
        kill_after = sorted(rng.sample(range(200, total - 200), kills))
        print(f"killing the gateway after lines {kill_after}")
        sent = 0
        for at in [*kill_after, total]:
            while sent < at:
                publisher.stdin.write(lines[sent] + "\n")
                sent += 1
            publisher.stdin.flush()
            if at == total:
                break
            time.sleep(rng.uniform(0.0, 0.5))
            gateway.send_signal(signal.SIGKILL)
            gateway.wait(30)
            time.sleep(rng.uniform(0.0, 1.0))  # readings keep coming while it is down
            gateway = _gateway(settings_env, log, instance, group)
        publisher.stdin.close()
        assert publisher.wait(120) == 0
        try:
            on_kafka = _consume(settings, until=total, timeout=180)
        finally:
            stop_cleanly(gateway, "gateway mqtt", log)
    ids = [v["event_id"] for _k, v in on_kafka]
    assert len(set(ids)) == total, f"{len(set(ids))} distinct readings on Kafka of {total}"
    print(f"{len(ids) - total} readings produced twice (killed before their acknowledgement)")

    # The real bridge archives them: each exactly once.
    assert settings.database_url
    with running([LOGISTREAM, "bridge"], settings_env, tmp_path / "bridge.log", "bridge"):

        def archived() -> tuple[int, int]:
            try:
                with psycopg.connect(settings.database_url or "") as conn:
                    row = conn.execute(
                        "SELECT count(*), count(DISTINCT event_id) FROM readings "
                        "WHERE truck_id = 'KCF 337F'"
                    ).fetchone()
            except psycopg.errors.UndefinedTable:
                return (0, 0)
            assert row is not None
            return (int(row[0]), int(row[1]))

        wait_until(lambda: archived()[0] >= total, timeout=180, what="the archive")
        time.sleep(2)
        assert archived() == (total, total)
