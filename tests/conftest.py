"""Session fixtures: one real stack (Kafka, PostgreSQL, Redis, Mosquitto) per test session.

The stack is started in a temporary home on free ports, so it never touches a stack the user
runs, and stopped at the end; or, when LOGISTREAM_TEST_KAFKA_BOOTSTRAP,
LOGISTREAM_TEST_DATABASE_URL (a superuser URL) and LOGISTREAM_TEST_REDIS_URL are set, those
servers are used and left alone (with LOGISTREAM_TEST_MQTT_URL, the MQTT gateway's URL, if set).
Each test gets its own topics, database, Redis database index and consumer groups; its settings
name the session's Mosquitto as the gateway, and its home's secrets file holds the MQTT devices'
passwords (``logistream.stack.mqtt_accounts.device_password(settings, device_id)``).

The integration and browser tests run on several pytest-xdist workers (``make test``): each
worker is a session, so each starts its own stack (its own temporary folder and free ports).
On servers named by the environment the workers share them, which is safe because a test's
names are its own: its Redis database index is leased (a key in database 0, so no two running
tests hold one), and the tests whose MQTT gateways subscribe to every device's topic take turns
on a shared broker (``mqtt_broker_alone``). What is per checkout (pgAdmin's virtualenv under
build/) is made once, under a file lock (``pgadmin_installed``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest

from logistream.config import Endpoints, Settings, child_env

if TYPE_CHECKING:
    import redis

TEST_ROLE_PASSWORDS = {
    "bridge_db_password": "bridge-test-pw",
    "reader_db_password": "reader-test-pw",
}
TEST_PARTITIONS = 3
STACK_START_ATTEMPTS = 2
"""A second try with new free ports: two workers may have been handed the same port."""
REDIS_DB_LEASE_S = 2 * 3600
"""How long a test's Redis database index stays leased if its session dies before releasing it
(a test is stopped after pytest-timeout's 900 s)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path) or "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.integration)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made if missing): one holder at a time among the
    processes of this machine, such as two pytest-xdist workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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

    from logistream.errors import StackError
    from logistream.stack.temporary import temporary_stack

    with contextlib.ExitStack() as on_exit:
        for attempt in range(1, STACK_START_ATTEMPTS + 1):
            print(f"starting the test stack in {stack_home}")
            try:
                endpoints = on_exit.enter_context(
                    temporary_stack(stack_home, partitions=TEST_PARTITIONS)
                )
                break
            except StackError as error:
                # A free port is free when chosen, not when its server binds it: another
                # worker's (or program's) server may take it in between. The failed stack is
                # gone (its home emptied); once more, on other free ports.
                if attempt == STACK_START_ATTEMPTS:
                    raise
                print(f"the test stack did not start ({error}); again on other free ports")
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


def _redis_lease_key(index: int) -> str:
    return f"logistream-test:redis-db:{index}"


def _lease_redis_db(leases: redis.Redis, owner: str) -> int:
    """A Redis database index (1..255) that no running test holds, leased in database 0: tests
    of two workers (or sessions) on one server never flush or read each other's views."""
    chooser = random.SystemRandom()
    for _ in range(2000):
        index = chooser.randrange(1, 256)
        if leases.set(_redis_lease_key(index), owner, nx=True, ex=REDIS_DB_LEASE_S):
            return index
    raise RuntimeError("no free Redis database index in 1..255: are 255 tests running?")


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
    leases = redis.Redis.from_url(_with_path(stack.redis_url, "/0"))
    redis_db = _lease_redis_db(leases, owner=f"{os.getpid()}:{suffix}")
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
    leases.delete(_redis_lease_key(redis_db))
    leases.close()


@pytest.fixture
def settings_env(settings: Settings) -> dict[str, str]:
    """The environment for a real ``logistream`` subprocess that uses this test's settings."""
    env = child_env(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def mqtt_broker_alone(stack: Endpoints, stack_home: Path | None) -> Iterator[None]:
    """For a test whose MQTT gateway subscribes to every device's topic: on a broker named by
    the environment (shared by the workers) such tests take turns, or one's gateway would take
    the other's readings. A worker's own broker serves one test at a time anyway."""
    if stack_home is not None or not stack.mqtt_url:
        yield
        return
    digest = hashlib.sha256(stack.mqtt_url.encode()).hexdigest()[:12]
    with file_lock(Path(tempfile.gettempdir()) / f"logistream-test-mqtt-{digest}.lock"):
        yield


@pytest.fixture(scope="session")
def pgadmin_installed() -> None:
    """pgAdmin's virtualenv (build/pgadmin-venv, made once per checkout) installed before the
    test starts ``logistream pgadmin``: one worker installs it while the other waits, instead
    of two pips writing into one folder."""
    from logistream.serving import pgadmin

    venv = pgadmin.default_venv()
    with file_lock(venv.with_name(f"{venv.name}.lock")):
        layout = pgadmin.Layout(venv=venv, data=venv / "unused-data")
        pgadmin.ensure_venv(layout)
