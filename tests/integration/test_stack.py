"""`logistream stack up|down|status` in its own home: idempotent, durable, leaves nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from tests.helpers import LOGISTREAM

from logistream.config import Settings, child_env, resolve_endpoints
from logistream.stack.process import pid_alive
from logistream.stack.temporary import isolated_settings


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOGISTREAM, "stack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def own_stack(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    settings = isolated_settings(tmp_path / "home", kafka_heap="512m")
    env = child_env(settings)
    return settings, env


def _pids(status_output: str) -> list[int]:
    return [int(line.split("pid ")[1]) for line in status_output.splitlines() if "pid " in line]


def test_up_twice_down_up_keeps_data_and_leaves_nothing_running(
    own_stack: tuple[Settings, dict[str, str]],
) -> None:
    settings, env = own_stack
    try:
        first = _run(env, "up")
        assert first.returncode == 0, first.stderr
        pids = _pids(first.stdout)
        assert len(pids) == 4, first.stdout

        again = _run(env, "up")
        assert again.returncode == 0, again.stderr
        assert sorted(_pids(again.stdout)) == sorted(pids), "a second `up` must start nothing"

        status = _run(env, "status")
        assert status.returncode == 0
        assert f"127.0.0.1:{settings.kafka_port}" in status.stdout
        assert f"postgresql://logistream@127.0.0.1:{settings.postgres_port}/" in status.stdout
        assert f"redis://127.0.0.1:{settings.redis_port}/0" in status.stdout
        assert f"mqtt://127.0.0.1:{settings.mqtt_port}" in status.stdout
        assert "secret" not in status.stdout

        secrets = settings.secrets_file
        assert secrets.stat().st_mode & 0o777 == 0o600
        database_url = resolve_endpoints(settings).database_url
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('survives a restart')")

        down = _run(env, "down")
        assert down.returncode == 0, down.stderr
        assert not [pid for pid in pids if pid_alive(pid)], "down must stop every server it started"
        assert _run(env, "status").returncode == 3

        restarted = _run(env, "up")
        assert restarted.returncode == 0, restarted.stderr
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("survives a restart",)]
        from confluent_kafka.admin import AdminClient

        topics = (
            AdminClient({"bootstrap.servers": f"127.0.0.1:{settings.kafka_port}"})
            .list_topics(timeout=10)
            .topics
        )
        assert {"truck_telemetry", "truck_alerts", "alert_commands", "truck_telemetry.dlq"} <= set(
            topics
        )
        assert len(topics["truck_telemetry"].partitions) == 6
    finally:
        _run(env, "down")
        from logistream.stack.manager import Stack

        Stack(settings).postgres.destroy()


def test_a_missing_program_is_named_with_its_package(
    own_stack: tuple[Settings, dict[str, str]],
) -> None:
    _, env = own_stack
    env = {
        **env,
        "PATH": "/nonexistent",
        "LOGISTREAM_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
        "LOGISTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    result = _run(env, "up")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "logistream: redis-server not found: install it with `apt-get install redis-server` "
        "(or run `make setup`)"
    )


def test_a_wrong_setting_stops_at_start_with_one_line_naming_it(
    own_stack: tuple[Settings, dict[str, str]],
) -> None:
    _, env = own_stack
    result = _run({**env, "LOGISTREAM_REDIS_PORT": "not-a-port"}, "status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("logistream: LOGISTREAM_REDIS_PORT: ")
