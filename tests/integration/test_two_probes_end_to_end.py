"""Two probes on one truck, one of them failing, real on every hop: `mosquitto_pub` -> Mosquitto
-> `logistream gateway mqtt` -> Kafka -> `logistream speed` (Redis) and `logistream bridge`
(PostgreSQL) -> `logistream batch` -> the trip report. One alert, naming the failing probe;
every reading of both probes archived once; the report shows both probes, each with its
calibration record and its own compliance figures."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from tests.helpers import LOGISTREAM, wait_until
from tests.integration.mqtt_support import end_gateway_session, publish

from logistream import live_views
from logistream.config import Settings
from logistream.events import Alert

DEVICE = "tu-kcb781c"  # KCB 781C (vaccines, 2-8 °C): probes front and rear (devices.toml)
TRUCK = "KCB 781C"
MINUTES = 40

# Its gateway takes every device's topic: on a broker the workers share, one such test at a time.
pytestmark = pytest.mark.usefixtures("mqtt_broker_alone")


@pytest.fixture
def pipeline(settings_env: dict[str, str], settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """The gateway, the speed layer and the bridge, each a real process; yields the log folder."""
    instance = f"t{uuid.uuid4().hex[:8]}"
    commands = {
        "gateway": ["gateway", "mqtt", "--instance", instance],
        "speed": ["speed"],
        "bridge": ["bridge"],
    }
    processes = {}
    for name, argv in commands.items():
        with (tmp_path / f"{name}.log").open("wb") as log:
            processes[name] = subprocess.Popen(
                [LOGISTREAM, *argv], env=settings_env, stdout=log, stderr=subprocess.STDOUT
            )
    try:
        wait_until(
            lambda: "MQTT gateway ready" in (tmp_path / "gateway.log").read_text(errors="replace"),
            timeout=60,
            what="the gateway's subscription",
        )
        yield tmp_path
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        codes = {name: p.wait(timeout=60) for name, p in processes.items()}
        end_gateway_session(settings, instance)
        for name in commands:
            print(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()[-3000:]}")
        assert codes == {"gateway": 0, "speed": 0, "bridge": 0}


def test_one_failing_probe_of_two_raises_one_alert_naming_it_and_the_report_shows_both(
    settings: Settings, settings_env: dict[str, str], pipeline: Path, tmp_path: Path
) -> None:
    assert settings.database_url
    trip = f"TR-PROBES-{uuid.uuid4().hex[:6]}"
    start = time.time() - MINUTES * 60
    lines = []
    for minute in range(MINUTES):
        ts = start + minute * 60
        rear = 5.5 if minute < 10 else 11.0  # the rear of the box warms from minute 10
        for probe_id, temp in (("front", 5.0), ("rear", rear)):
            lines.append(
                json.dumps(
                    {
                        "temp": temp,
                        "timestamp": ts,
                        "probe_id": probe_id,
                        "trip_id": trip,
                        "fuel": 70.0,
                        "lat": -1.2921 - minute * 0.001,
                        "lon": 36.8219,
                        "speed_kmh": 60.0,
                    }
                )
            )
    publish(settings, DEVICE, lines)

    # The speed layer: one temperature alert, the rear probe's, named in its message.
    client = redis.Redis.from_url(settings.redis_url)

    def temperature_alerts() -> list[Alert]:
        found = live_views.read_open_alerts(client)
        return [a for a in found if a.truck_id == TRUCK and a.rule.startswith("temp_")]

    wait_until(lambda: temperature_alerts(), timeout=120, what="the rear probe's alert")
    time.sleep(3)  # a second alert, if the front probe raised one, would be there by now
    (alert,) = temperature_alerts()
    assert alert.rule == "temp_high"
    assert alert.probe_id == "rear"
    assert "KCB 781C (vaccines), rear probe" in alert.message

    # The bridge: every reading of both probes, once, with its probe.
    def archived() -> list[tuple[str, int]]:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute(
                "SELECT probe_id, count(*) FROM readings WHERE trip_id = %s "
                "GROUP BY probe_id ORDER BY probe_id",
                [trip],
            ).fetchall()
        return [(str(p), int(n)) for p, n in rows]

    wait_until(
        lambda: archived() == [("front", MINUTES), ("rear", MINUTES)],
        timeout=120,
        what="both probes' readings in the archive",
    )
    with psycopg.connect(settings.database_url) as conn:
        probes = conn.execute(
            "SELECT DISTINCT probe_id FROM alert_changes "
            "WHERE truck_id = %s AND rule = 'temp_high'",
            [TRUCK],
        ).fetchall()
    assert probes == [("rear",)]

    # The batch views and the report: both probes, each with its calibration record.
    done = subprocess.run(
        [LOGISTREAM, "batch"], env=settings_env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "report.json"
    done = subprocess.run(
        [LOGISTREAM, "report", "trip", trip, "--format", "json", "-o", str(out)],
        env=settings_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    records = {p["probe_id"]: p for p in report["probes"]}
    assert set(records) == {"front", "rear"}
    assert records["front"]["certificate"] == "CAL-2026-0144"
    assert records["rear"]["certificate"] == "CAL-2026-0145"
    assert records["front"]["due"] == "2027-02-10"
    # Each probe's own figures: the rear one decides the trip's verdict, and is named.
    assert records["front"]["verdict"] == "pass"
    assert records["rear"]["verdict"] in ("review", "fail")
    assert records["rear"]["excursions"] >= 1
    assert report["verdict"] == records["rear"]["verdict"]
    assert report["reason"].startswith("rear probe: ")
