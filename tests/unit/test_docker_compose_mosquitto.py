"""docker-compose.yml's Mosquitto: the official image, on the settings' default port, with the
configuration `logistream stack mqtt-files` writes from the device registry (the same one the
local stack's broker gets), at the paths the compose file mounts. Docker is not run here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from logistream.config import Settings, get_settings
from logistream.registry import load_registry
from logistream.stack.mosquitto_server import write_container_files
from logistream.stack.mqtt_accounts import mqtt_devices

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return dict(loaded["services"])


def test_the_broker_is_the_official_image_on_the_default_port(services: dict[str, Any]) -> None:
    mosquitto = services["mosquitto"]
    assert mosquitto["image"].startswith("eclipse-mosquitto:2")
    defaults = Settings(_env_file=None, mqtt_url=None)
    assert mosquitto["ports"] == [f"{defaults.mqtt_port}:1883"]
    script = mosquitto["command"][-1]
    assert "mosquitto_passwd -U /mosquitto/config/passwd" in script
    assert script.endswith("exec mosquitto -c /logistream-mqtt/mosquitto.conf")
    assert "/logistream-mqtt" in {v.split(":")[1] for v in mosquitto["volumes"]}
    assert services["topics"]["depends_on"]["mosquitto"] == {"condition": "service_healthy"}


def test_the_services_log_in_as_the_gateway_of_that_broker(services: dict[str, Any]) -> None:
    for name in ("simulator", "speed", "bridge", "dashboard", "mqtt-accounts"):
        url = services[name]["environment"]["LOGISTREAM_MQTT_URL"]
        assert url.startswith("mqtt://gateway:")
        assert url.endswith("@mosquitto:1883")


def test_the_accounts_service_runs_a_real_command(services: dict[str, Any]) -> None:
    from logistream.cli import _register_commands, app

    command = services["mqtt-accounts"]["command"]
    assert command == ["logistream", "stack", "mqtt-files", "/logistream-mqtt"]
    _register_commands()
    result = CliRunner().invoke(app, [*command[1:3], "--help"])
    assert result.exit_code == 0, result.output


def test_the_written_files_are_the_local_brokers_with_container_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGISTREAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOGISTREAM_MQTT_URL", "mqtt://gateway:from-env@mosquitto:1883")
    get_settings.cache_clear()
    try:
        written = write_container_files(get_settings(), tmp_path / "files")
    finally:
        get_settings.cache_clear()
    assert sorted(p.name for p in written) == ["acl", "mosquitto.conf", "passwd.plain"]
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o600
    config = (tmp_path / "files" / "mosquitto.conf").read_text().splitlines()
    assert "listener 1883 0.0.0.0" in config
    assert "allow_anonymous false" in config
    assert "password_file /mosquitto/config/passwd" in config
    assert "acl_file /mosquitto/config/acl" in config
    assert "persistence_location /mosquitto/data/" in config
    devices = mqtt_devices(load_registry().devices)
    lines = (tmp_path / "files" / "passwd.plain").read_text().splitlines()
    assert lines[0] == "gateway:from-env"
    secrets = json.loads((tmp_path / "home" / "secrets.json").read_text())
    assert lines[1:] == [
        f"{d.device_id}:{secrets[f'mqtt_device_password:{d.device_id}']}" for d in devices
    ]
