"""Session fixtures: one real stack (Kafka, PostgreSQL, Redis, Mosquitto) per test session.

The stack is started in a temporary home on free ports, so it never touches a stack the user
runs, and stopped at the end; or, when LOGISTREAM_TEST_KAFKA_BOOTSTRAP,
LOGISTREAM_TEST_DATABASE_URL (a superuser URL) and LOGISTREAM_TEST_REDIS_URL are set, those
servers are used and left alone (with LOGISTREAM_TEST_MQTT_URL, the MQTT gateway's URL, if set).
Each test gets its own topics, database, Redis database index and consumer groups; its settings
name the session's Mosquitto as the gateway, and its home's secrets file holds the MQTT devices'
passwords (``logistream.stack.mqtt_accounts.device_password(settings, device_id)``).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from logistream.config import Endpoints, Settings, child_env

TEST_ROLE_PASSWORDS = {
    "bridge_db_password": "bridge-test-pw",
    "reader_db_password": "reader-test-pw",
}
TEST_PARTITIONS = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path) or "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.integration)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _named_servers() -> list[str | None]:
    env = os.environ
    return [
        env.get(f"LOGISTREAM_TEST_{n}") for n in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "REDIS_URL")
    ]


@pytest.fixture(scope="session")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The home of the session's own stack; None when the servers are named by the environment."""
    if all(_named_servers()):
        return None
    return tmp_path_factory.mktemp("stack-home")


@pytest.fixture(scope="session")
def stack(stack_home: Path | None) -> Iterator[Endpoints]:
    """Endpoints of the real servers; ``database_url`` is a superuser URL."""
    if stack_home is None:
        kafka, database, redis_url = (str(v) for v in _named_servers())
        mqtt_url = os.environ.get("LOGISTREAM_TEST_MQTT_URL")
        yield Endpoints(kafka, database, redis_url, mqtt_url)
        return

    from logistream.stack.temporary import temporary_stack

    print(f"starting the test stack in {stack_home}")
    with temporary_stack(stack_home, partitions=TEST_PARTITIONS) as endpoints:
        yield endpoints


def _copy_mqtt_secrets(stack_home: Path | None, home: Path) -> None:
    """The session broker's MQTT passwords into a test's home, where its processes look."""
    if stack_home is None:
        return
    kept = json.loads((stack_home / "secrets.json").read_text())
    mqtt = {name: value for name, value in kept.items() if name.startswith("mqtt_")}
    home.mkdir(parents=True, exist_ok=True)
    path = home / "secrets.json"
    path.write_text(json.dumps(mqtt, indent=2))
    path.chmod(0o600)


@pytest.fixture
def settings(stack: Endpoints, stack_home: Path | None, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test: its own topics, database, Redis database and consumer groups."""
    import psycopg
    import redis
    from psycopg import sql

    from logistream.kafka import ensure_topics, pipeline_topics

    suffix = uuid.uuid4().hex[:10]
    database = f"t_{suffix}"
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    redis_db = random.SystemRandom().randrange(1, 256)
    redis_url = _with_path(stack.redis_url, f"/{redis_db}")
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()

    test_settings = Settings(
        home=tmp_path / "home",
        kafka_bootstrap=stack.kafka_bootstrap,
        database_url=_with_path(stack.database_url, f"/{database}"),
        redis_url=redis_url,
        mqtt_url=stack.mqtt_url,
        database_name=database,
        topic_telemetry=f"truck_telemetry.{suffix}",
        topic_alerts=f"truck_alerts.{suffix}",
        topic_commands=f"alert_commands.{suffix}",
        topic_dlq=f"truck_telemetry.{suffix}.dlq",
        topic_shipments=f"shipments.{suffix}",
        topic_truck_modes=f"truck_modes.{suffix}",
        topic_shipment_events=f"shipment_events.{suffix}",
        speed_group=f"speed-layer.{suffix}",
        bridge_group=f"batch-layer.{suffix}",
        notify_group=f"notifier.{suffix}",
        partitions=TEST_PARTITIONS,
        **TEST_ROLE_PASSWORDS,
    )
    ensure_topics(test_settings, pipeline_topics(test_settings), partitions=TEST_PARTITIONS)
    _copy_mqtt_secrets(stack_home, test_settings.home)
    yield test_settings

    from logistream.kafka import make_admin

    # The speed layer's checkpoint topic is named after the telemetry topic.
    checkpoint = f"{test_settings.topic_telemetry}.speed-checkpoint"
    make_admin(test_settings).delete_topics(
        [
            *pipeline_topics(test_settings),
            test_settings.topic_shipments,
            test_settings.topic_truck_modes,
            checkpoint,
        ],
        operation_timeout=30,
    )
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


@pytest.fixture
def settings_env(settings: Settings) -> dict[str, str]:
    """The environment for a real ``logistream`` subprocess that uses this test's settings."""
    env = child_env(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env
