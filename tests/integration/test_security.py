"""`logistream stack up --secure`: every service may do its job and nothing else; each refusal.

One secure stack for the module, started with the real command in its own home on free ports.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from tests.helpers import LOGISTREAM

from logistream.config import Settings, child_env, read_secrets, resolve_endpoints
from logistream.kafka import ensure_topics, make_admin, make_consumer, make_producer
from logistream.stack.manager import Stack
from logistream.stack.temporary import isolated_settings


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGISTREAM, "stack", *args], env=env, capture_output=True, text=True, timeout=300
    )


class Secure:
    def __init__(self, stack: Stack, up: subprocess.CompletedProcess[str], env: dict[str, str]):
        self.stack = stack
        self.settings = stack.settings
        self.up = up
        self.env = env

    def kafka(self, service: str) -> Settings:
        return self.stack.service_settings(service)

    def redis(self, service: str) -> redis.Redis:
        url = self.stack.service_settings(service).redis_url
        assert url is not None
        return redis.Redis.from_url(url, socket_timeout=5)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    home = tmp_path_factory.mktemp("secure-home")
    settings = isolated_settings(home, kafka_heap="384m", partitions=3)
    env = child_env(settings)
    started = time.monotonic()
    up = _run(env, "up", "--secure")
    print(f"secure stack up in {time.monotonic() - started:.1f} s")
    stack = Stack(settings)
    try:
        assert up.returncode == 0, up.stderr
        assert stack.secure
        yield Secure(stack, up, env)
    finally:
        _run(env, "down")
        stack.postgres.destroy()


def _produce(settings: Settings, topic: str) -> Any:
    """The delivery error of one message (None when it was written)."""
    results: list[Any] = []
    producer = make_producer(settings, **{"message.timeout.ms": 20_000})
    producer.produce(
        topic, b'{"probe": true}', key=b"KBX 001A", on_delivery=lambda e, m: results.append(e)
    )
    producer.flush(30)
    assert results, "no delivery report within 30 s"
    return results[0]


def _fetch_error(settings: Settings, topic: str, group: str | None = None, want: int = 0) -> Any:
    """What a consumer gets reading ``topic`` from the start: the first message, or the error
    with code ``want`` (other errors, such as the probe group's own refusal, are skipped)."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumer = make_consumer(settings, group or f"probe-{uuid.uuid4().hex[:8]}")
    seen: list[Any] = []
    try:
        if group is None:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        else:
            consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is None or error.code() == want:
                return error or message
            seen.append(error)
        raise AssertionError(f"reading {topic}: no message and no error {want} in 30 s: {seen}")
    finally:
        consumer.close()


def test_kafka_wrong_password_is_refused(secure: Secure) -> None:
    from confluent_kafka import KafkaError, KafkaException

    errors: list[Any] = []
    wrong = secure.kafka("simulator").model_copy(update={"kafka_password": "not-the-password"})
    with pytest.raises(KafkaException):
        make_admin(wrong).list_topics(timeout=10)
    producer = make_producer(wrong, error_cb=errors.append)
    deadline = time.monotonic() + 20
    while not errors and time.monotonic() < deadline:
        producer.poll(0.5)
    assert [e.code() for e in errors][:1] == [KafkaError._AUTHENTICATION], errors
    # And no password at all: the listener speaks SASL only.
    plain = secure.settings.model_copy(
        update={"kafka_bootstrap": secure.stack.kafka_bootstrap, "kafka_security_protocol": None}
    )
    with pytest.raises(KafkaException):
        make_admin(plain, **{"socket.timeout.ms": 3000}).list_topics(timeout=8)


def test_simulator_writes_telemetry_only(secure: Secure) -> None:
    from confluent_kafka import KafkaError

    simulator = secure.kafka("simulator")
    assert _produce(simulator, secure.settings.topic_telemetry) is None
    refused = _produce(simulator, secure.settings.topic_alerts)
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # Reading: the simulator may not even see truck_alerts' metadata; fetching the topic it
    # writes is refused too.
    denied = KafkaError.TOPIC_AUTHORIZATION_FAILED
    alerts = secure.settings.topic_alerts
    metadata = make_admin(simulator).list_topics(alerts, timeout=10).topics[alerts]
    assert metadata.error is not None
    assert metadata.error.code() == denied
    fetched = _fetch_error(simulator, secure.settings.topic_telemetry, want=denied)
    assert fetched.code() == denied
    group = KafkaError.GROUP_AUTHORIZATION_FAILED
    got = _fetch_error(simulator, secure.settings.topic_alerts, group="speed-layer", want=group)
    assert got.code() == group


def test_speed_reads_telemetry_in_its_group_and_writes_alerts_not_telemetry(
    secure: Secure,
) -> None:
    from confluent_kafka import KafkaError

    s = secure.settings
    assert _produce(secure.kafka("simulator"), s.topic_telemetry) is None
    speed = secure.kafka("speed")
    refused = _produce(speed, s.topic_telemetry)
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _produce(speed, s.topic_alerts) is None
    # What the speed layer does at start: its topics exist; it creates its checkpoint topic.
    ensure_topics(speed, [s.topic_telemetry, s.topic_alerts, s.topic_commands])
    ensure_topics(speed, [f"{s.topic_telemetry}.speed-checkpoint"], partitions=1)
    got = _fetch_error(speed, s.topic_telemetry, group=s.speed_group)
    assert got.value() == b'{"probe": true}'
    # Another service's group is not the speed layer's to join.
    denied = KafkaError.GROUP_AUTHORIZATION_FAILED
    stolen = _fetch_error(speed, s.topic_telemetry, group=s.bridge_group, want=denied)
    assert stolen.code() == denied
    created = _fetch_error(secure.kafka("bridge"), s.topic_telemetry, group=s.bridge_group)
    assert created.value() == b'{"probe": true}'
    assert _produce(secure.kafka("bridge"), s.topic_dlq) is None
    refused = _produce(secure.kafka("bridge"), s.topic_alerts)
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_redis_default_user_is_off_and_readers_cannot_write(secure: Secure) -> None:
    port = secure.settings.redis_port
    admin_password = read_secrets(secure.settings)["redis_password"]
    # A password alone authenticates as "default", which is disabled.
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(f"redis://:{admin_password}@127.0.0.1:{port}/0").ping()
    anonymous = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()

    speed = secure.redis("speed")
    assert speed.set("ls:truck:KBX 001A", "reading")
    with pytest.raises(redis.exceptions.NoPermissionError):
        speed.set("elsewhere", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        speed.flushall()
    for reader in ("dashboard", "api", "notify"):
        client = secure.redis(reader)
        assert client.get("ls:truck:KBX 001A") == b"reading"
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("ls:truck:KBX 001A", "forged")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.delete("ls:truck:KBX 001A")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.get("elsewhere")
        client.close()
    speed.close()


def _migrated(secure: Secure) -> tuple[str, Settings]:
    from logistream.schema.migrate import migrate

    settings = secure.settings
    owner_url = resolve_endpoints(settings).database_url
    migrate(settings, owner_url)
    return owner_url, settings


def _role_url(owner_url: str, role: str, password: str) -> str:
    host = owner_url.rsplit("@", 1)[1]
    return f"postgresql://{role}:{password}@{host}"


def test_postgres_roles_own_nothing_and_are_refused(secure: Secure) -> None:
    owner_url, settings = _migrated(secure)
    secrets = read_secrets(settings)
    bridge_url = _role_url(owner_url, "logistream_bridge", secrets["bridge_db_password"])
    reader_url = _role_url(owner_url, "logistream_reader", secrets["reader_db_password"])

    with psycopg.connect(bridge_url, autocommit=True) as bridge:
        # The bridge's late-reading path: a partition created through the owner's function.
        bridge.execute("SELECT ensure_reading_partition(current_date + 20)")
        bridge.execute(
            "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition, "
            "source_offset) VALUES ('e1', now(), 'KBX 001A', 4.0, 0, 0)"
        )
        for statement in (
            "UPDATE readings SET temp = 99",
            "DELETE FROM readings",
            "TRUNCATE readings",
            "UPDATE alert_changes SET message = 'x'",
            "DELETE FROM rejected_readings",
            "CREATE TABLE mine (x int)",
            "ALTER TABLE readings ADD COLUMN x int",
            "DROP VIEW truck_history",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bridge.execute(statement)

    with psycopg.connect(reader_url, autocommit=True) as reader:
        rows = reader.execute("SELECT truck_id, AVG(fuel) FROM truck_history GROUP BY 1")
        assert rows.fetchall() == [("KBX 001A", None)]
        for statement in (
            "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition, "
            "source_offset) VALUES ('e2', now(), 'KBX 001A', 4.0, 0, 1)",
            "UPDATE readings SET temp = 99",
            "DELETE FROM readings",
            "INSERT INTO kafka_offsets VALUES ('g', 't', 0, 0)",
            "UPDATE trips SET trip_id = 'x'",
            "SELECT password_hash FROM users",
            "SELECT ensure_reading_partition(current_date + 21)",
            "CREATE TABLE mine (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)

    with psycopg.connect(owner_url) as owner:
        migration_role = owner.execute("SELECT current_user").fetchone()
        owners = owner.execute(
            """
            SELECT 'relation ' || c.relname, pg_get_userbyid(c.relowner)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
            UNION ALL
            SELECT 'function ' || p.proname, pg_get_userbyid(p.proowner)
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
            UNION ALL
            SELECT 'type ' || t.typname, pg_get_userbyid(t.typowner)
              FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public'
            """
        ).fetchall()
        names = {name for name, _ in owners}
        assert {"relation readings", "relation truck_history"} <= names
        assert "function ensure_reading_partition" in names
        assert any(name.startswith("relation readings_p") for name in names)
        not_migration = [(name, who) for name, who in owners if (who,) != migration_role]
        assert not_migration == [], "only the migration role may own schema objects"
        anything = owner.execute(
            """
            SELECT count(*) FROM pg_class WHERE pg_get_userbyid(relowner) LIKE 'logistream\\_%'
            UNION ALL
            SELECT count(*) FROM pg_proc WHERE pg_get_userbyid(proowner) LIKE 'logistream\\_%'
            UNION ALL
            SELECT count(*) FROM pg_namespace WHERE pg_get_userbyid(nspowner) LIKE 'logistream\\_%'
            """
        ).fetchall()
        assert anything == [(0,), (0,), (0,)], "the service roles own nothing at all"


def test_no_password_in_logs_or_status(secure: Secure) -> None:
    status = _run(secure.env, "status")
    assert status.returncode == 0, status.stdout
    passwords = [value for value in read_secrets(secure.settings).values() if len(value) >= 16]
    assert len(passwords) >= 14, "the secure stack keeps a password per service"
    home = secure.settings.home
    logs = {path: path.read_text(errors="replace") for path in home.rglob("*.log")}
    postgres_log = Path(secure.stack.postgres.log_path)
    logs[postgres_log] = postgres_log.read_text(errors="replace")
    assert len(logs) >= 3, sorted(logs)
    outputs = {
        "stack up stdout": secure.up.stdout,
        "stack up stderr": secure.up.stderr,
        "stack status": status.stdout + status.stderr,
        **{str(path): text for path, text in logs.items()},
    }
    for where, text in outputs.items():
        leaked = [p[:4] + "…" for p in passwords if p in text]
        assert not leaked, f"{where} shows passwords {leaked}"
    # The files that must hold secrets are the owner's alone; Redis keeps only hashes.
    assert (home / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert (home / "kafka" / "server.properties").stat().st_mode & 0o777 == 0o600
    for env_file in (home / "env").glob("*.env"):
        assert env_file.stat().st_mode & 0o777 == 0o600
    redis_conf = (home / "redis" / "redis.conf").read_text()
    assert not [p for p in passwords if p in redis_conf]
