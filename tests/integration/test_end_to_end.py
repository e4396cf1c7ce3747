"""The thin slice, real on every hop: Kafka -> speed layer -> Redis, Kafka -> bridge -> PostgreSQL.

Real `logistream speed` and `logistream bridge` processes; readings produced with and without a
key; the alert is checked in Redis, on truck_alerts, through `logistream alerts --json` and on
the dashboard (Streamlit's AppTest, reading the same Redis).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from confluent_kafka import Consumer, Producer
from streamlit.testing.v1 import AppTest
from tests.helpers import LOGISTREAM, wait_until

from logistream import live_views
from logistream.config import Settings, to_env

APP = Path(__file__).resolve().parents[2] / "src" / "logistream" / "serving" / "app.py"
ORIGINAL = b'{"truck_id": "TRUCK-001", "temp": 9.1, "fuel": 80, "timestamp": 1767225600.0}'


@pytest.fixture
def pipeline(settings_env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    processes = []
    for command in ("speed", "bridge"):
        log = (tmp_path / f"{command}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [LOGISTREAM, command], env=settings_env, stdout=log, stderr=subprocess.STDOUT
            )
        )
    yield
    for process in processes:
        process.send_signal(signal.SIGTERM)
    codes = [process.wait(timeout=60) for process in processes]
    for command in ("speed", "bridge"):
        print(f"--- {command} log ---\n{(tmp_path / f'{command}.log').read_text()[-3000:]}")
    assert codes == [0, 0], "speed and bridge must exit 0 on SIGTERM"


def _produce(settings: Settings, records: list[tuple[str | None, bytes]]) -> None:
    assert settings.kafka_bootstrap
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "acks": "all"})
    for key, value in records:
        producer.produce(settings.topic_telemetry, value=value, key=key)
    assert producer.flush(30) == 0


def _alerts_on_topic(settings: Settings) -> list[dict[str, object]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"e2e-reader-{time.time()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.topic_alerts])
    found = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append(json.loads(message.value()))
    consumer.close()
    return found


def test_readings_reach_redis_and_postgres_and_a_hot_one_alerts_everywhere(
    settings: Settings,
    settings_env: dict[str, str],
    pipeline: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = time.time()
    cool = json.dumps(
        {
            "truck_id": "KBX 123A",
            "temp": 4.2,
            "fuel": 61.5,
            "timestamp": now - 20,
            "lat": -1.2864,
            "lon": 36.8172,
        }
    ).encode()
    _produce(settings, [("KBX 123A", cool), (None, ORIGINAL)])

    assert settings.redis_url
    assert settings.database_url
    client = redis.Redis.from_url(settings.redis_url)
    fleet = wait_until(
        lambda: (
            {t.truck_id: t for t in live_views.read_fleet(client)}
            if len(live_views.read_fleet(client)) == 2
            else None
        ),
        what="both trucks in Redis",
    )
    assert fleet["KBX 123A"].reading.temp == 4.2
    assert fleet["KBX 123A"].status == "ok"
    assert fleet["TRUCK-001"].reading.temp == 9.1

    alerts = wait_until(lambda: live_views.read_open_alerts(client), what="an open alert")
    assert [(a.truck_id, a.rule, a.state, a.value) for a in alerts] == [
        ("TRUCK-001", "temp_high", "open", 9.1)
    ]
    on_topic = _alerts_on_topic(settings)
    assert [(a["alert_id"], a["state"]) for a in on_topic] == [(alerts[0].alert_id, "open")]

    def archived() -> list[tuple[object, ...]]:
        try:
            with psycopg.connect(settings.database_url) as conn:
                return conn.execute(
                    "SELECT truck_id, temp, fuel FROM truck_history ORDER BY truck_id"
                ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []

    rows = wait_until(lambda: archived() if len(archived()) == 2 else None, what="2 rows")
    assert rows == [("KBX 123A", 4.2, 61.5), ("TRUCK-001", 9.1, 80.0)]
    with psycopg.connect(settings.database_url) as conn:
        audit = conn.execute(
            "SELECT truck_id, AVG(fuel) FROM truck_history GROUP BY truck_id ORDER BY truck_id"
        ).fetchall()
    assert audit == [("KBX 123A", 61.5), ("TRUCK-001", 80.0)]

    listed = subprocess.run(
        [LOGISTREAM, "alerts", "--json"], env=settings_env, capture_output=True, check=True
    )
    lines = [json.loads(line) for line in listed.stdout.decode().splitlines()]
    assert [(x["truck_id"], x["rule"], x["state"]) for x in lines] == [
        ("TRUCK-001", "temp_high", "open")
    ]

    # The dashboard shows the same trucks and alert, read from the same Redis.
    for name, value in to_env(settings).items():
        monkeypatch.setenv(name, value)
    from logistream.config import get_settings

    get_settings.cache_clear()
    from logistream.serving.ui import USER_KEY
    from logistream.serving.users import User

    page = AppTest.from_file(str(APP), default_timeout=30)
    page.session_state[USER_KEY] = User("e2e", "viewer")
    page.run()
    assert not page.exception
    assert page.title[0].value == "Live fleet"
    shown_trucks = set(page.dataframe[0].value["truck"])
    assert shown_trucks == {"KBX 123A", "TRUCK-001"}
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Trucks on the road"] == "2"
    assert metrics["Open major"] == "1"
    alerts_page = AppTest.from_string(
        "from logistream.serving.screens import alerts\nalerts.render()\n", default_timeout=30
    ).run()
    assert not alerts_page.exception
    shown_alerts = alerts_page.dataframe[0].value
    assert list(shown_alerts["truck"]) == ["TRUCK-001"]
    assert list(shown_alerts["rule"]) == ["temp_high"]
    get_settings.cache_clear()
