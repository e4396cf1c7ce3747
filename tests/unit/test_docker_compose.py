"""docker-compose.yml must describe the same stack as the project's configuration.

Docker is not available where the tests run, so this reads the file and checks that its service
names, ports, topics and environment variables agree with Settings and with the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from logistream.config import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
STACK_SERVICES = {"kafka", "postgres", "redis", "pgadmin"}
LOGISTREAM_SERVICES = {"simulator", "speed", "bridge", "dashboard"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _host_port(service: dict[str, Any]) -> int:
    return int(str(service["ports"][0]).split(":")[0])


def test_every_service_of_the_stack_and_the_pipeline_is_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= STACK_SERVICES | LOGISTREAM_SERVICES


def test_host_ports_are_the_settings_defaults(compose: dict[str, Any]) -> None:
    defaults = Settings(_env_file=None, kafka_bootstrap=None, database_url=None, redis_url=None)
    services = compose["services"]
    assert _host_port(services["kafka"]) == defaults.kafka_port
    assert _host_port(services["postgres"]) == defaults.postgres_port
    assert _host_port(services["redis"]) == defaults.redis_port
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"localhost:{defaults.kafka_port}" in advertised
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")


def test_logistream_variables_are_real_settings_with_default_topics(
    compose: dict[str, Any],
) -> None:
    fields = {f"LOGISTREAM_{name.upper()}" for name in Settings.model_fields}
    defaults = Settings(_env_file=None)
    for name in LOGISTREAM_SERVICES:
        environment = compose["services"][name]["environment"]
        unknown = {key for key in environment if key.startswith("LOGISTREAM_")} - fields
        assert not unknown, f"{name}: {unknown} are not settings"
        assert environment["LOGISTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert "@postgres:5432/" in environment["LOGISTREAM_DATABASE_URL"]
        assert "@redis:6379/" in environment["LOGISTREAM_REDIS_URL"]
        for topic in ("telemetry", "alerts", "commands", "dlq"):
            assert environment[f"LOGISTREAM_TOPIC_{topic.upper()}"] == getattr(
                defaults, f"topic_{topic}"
            )


def test_service_commands_are_logistream_commands(compose: dict[str, Any]) -> None:
    from logistream.cli import _register_commands, app

    _register_commands()
    runner = CliRunner()
    for name in LOGISTREAM_SERVICES:
        command = compose["services"][name]["command"]
        assert command[0] == "logistream"
        result = runner.invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{name}: `{' '.join(command)}` is not a command"
