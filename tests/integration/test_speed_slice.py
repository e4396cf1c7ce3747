"""The thin slice, end to end on real Kafka and Redis: a reading above 7 °C alerts."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import redis
from tests.helpers import wait_until
from tests.integration.speed_support import (
    LOGISTREAM,
    TopicReader,
    produce,
    reading,
    speed_process,
)

from logistream import live_views
from logistream.config import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metrics(port: int) -> dict[str, float]:
    def scrape() -> dict[str, float]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            return {}
        pairs = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
        return {name: float(value) for name, value in pairs}

    return wait_until(scrape, what="the metrics endpoint")


ORIGINAL = b'{"truck_id": "TRUCK-001", "temp": 9.1, "fuel": 80, "timestamp": 1767225600.0}'


def test_hot_reading_alerts_in_redis_and_on_truck_alerts(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    now = time.time()
    produce(
        settings,
        [
            ("TRUCK-002", reading("TRUCK-002", now - 60, 5.0, fuel=70)),
            ("TRUCK-002", reading("TRUCK-002", now - 30, 8.4, fuel=70)),
            ("TRUCK-003", reading("TRUCK-003", now - 30, 6.9)),
            ("TRUCK-003", b'{"truck_id": "TRUCK-003", "temp": "hot"}'),
        ],
    )
    alerts_topic = TopicReader(settings, settings.topic_alerts)
    port = _free_port()
    with speed_process(settings_env, "--metrics-port", str(port), log=tmp_path / "speed.log"):
        alerts = wait_until(lambda: live_views.read_open_alerts(client), what="an open alert")
        assert [(a.truck_id, a.rule, a.severity, a.state) for a in alerts] == [
            ("TRUCK-002", "temp_high", "major", "open")
        ]
        assert alerts[0].value == 8.4
        assert alerts[0].threshold == 7.0
        assert "TRUCK-002 at 8.4 °C" in alerts[0].message
        published = wait_until(alerts_topic.alerts, what="the alert on truck_alerts")
        assert [a.alert_id for a in published] == [alerts[0].alert_id]
        assert alerts_topic.records[0][0] == b"TRUCK-002"

        fleet = {t.truck_id: t for t in live_views.read_fleet(client)}
        assert fleet["TRUCK-002"].reading.temp == 8.4
        assert fleet["TRUCK-002"].status == "major"
        assert fleet["TRUCK-003"].status == "ok"
        beat = wait_until(lambda: live_views.read_heartbeat(client), what="a heartbeat")
        assert beat.age_s < 5
        wait_until(lambda: live_views.read_heartbeat(client).record.skipped == 1, what="skip")  # type: ignore[union-attr]

        metrics = _metrics(port)
        assert metrics["logistream_speed_readings_processed_total"] == 3.0
        skipped = {
            k: v for k, v in metrics.items() if k.startswith("logistream_speed_readings_skipped_t")
        }
        assert skipped == {'logistream_speed_readings_skipped_total{reason="wrong_type"}': 1.0}
        assert metrics['logistream_speed_alert_changes_total{rule="temp_high",state="open"}'] == 1
        assert metrics["logistream_speed_alert_latency_seconds_count"] == 1.0

        out = subprocess.run(
            [LOGISTREAM, "alerts", "--json"], env=settings_env, capture_output=True, check=True
        )
        lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
        assert [(x["alert_id"], x["state"]) for x in lines] == [(alerts[0].alert_id, "open")]
    alerts_topic.close()


def test_original_keyless_message_is_processed_like_any_other(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    produce(settings, [(None, ORIGINAL)])
    alerts_topic = TopicReader(settings, settings.topic_alerts)
    with speed_process(settings_env, log=tmp_path / "speed.log"):
        alerts = wait_until(lambda: live_views.read_open_alerts(client), what="an open alert")
        assert [(a.truck_id, a.rule, a.state, a.value) for a in alerts] == [
            ("TRUCK-001", "temp_high", "open", 9.1)
        ]
        assert alerts[0].opened_at == 1767225600.0
        published = wait_until(alerts_topic.alerts, what="the alert on truck_alerts")
        assert [a.alert_id for a in published] == [alerts[0].alert_id]
        truck = live_views.read_truck(client, "TRUCK-001")
        assert truck is not None
        assert truck.reading.fuel == 80
    alerts_topic.close()
