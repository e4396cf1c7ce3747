"""The broker's accounts from the device registry: ACL and password-file text, Mosquitto's
configuration, the start check's CONNECT, and the public way to the passwords. No broker here:
tests/integration/test_stack_mosquitto.py runs the real one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logistream.config import Settings
from logistream.errors import ConfigError
from logistream.registry import load_registry
from logistream.registry.devices import Device, Devices
from logistream.stack import mqtt_accounts
from logistream.stack.mosquitto_server import config_text, connect_packet

UNIT_7 = Device("unit-7", "mqtt", "logistream-json", "KCA 452B")
UNIT_8 = Device("unit-8", "mqtt", "logistream-json", "KCB 781C")
TRACKER = Device("352093081452251", "teltonika", "FMC130", "KBX 123A")


def test_the_acl_lets_the_gateway_read_all_and_each_device_write_its_own_topic() -> None:
    text = mqtt_accounts.acl_text([UNIT_7, UNIT_8])
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == [
        "user gateway",
        "topic read logistream/devices/+/telemetry",
        "user unit-7",
        "topic write logistream/devices/unit-7/telemetry",
        "user unit-8",
        "topic write logistream/devices/unit-8/telemetry",
    ]


def test_only_mqtt_devices_get_accounts() -> None:
    devices = Devices.of((UNIT_7, TRACKER))
    assert mqtt_accounts.mqtt_devices(devices) == (UNIT_7,)
    assert mqtt_accounts.secret_names(devices) == (
        "mqtt_gateway_password",
        "mqtt_device_password:unit-7",
    )


def test_the_shipped_registry_gives_every_mqtt_device_a_topic_of_its_own() -> None:
    devices = mqtt_accounts.mqtt_devices(load_registry().devices)
    assert len(devices) >= 2
    text = mqtt_accounts.acl_text(devices)
    for device in devices:
        assert f"topic write logistream/devices/{device.device_id}/telemetry" in text
    assert text.count("topic write") == len(devices)
    assert "topic readwrite" not in text


def test_password_lines_carry_each_users_own_secret() -> None:
    secrets = {
        "mqtt_gateway_password": "g-pw",
        "mqtt_device_password:unit-7": "seven",
        "mqtt_device_password:unit-8": "eight",
    }
    assert mqtt_accounts.plain_password_lines([UNIT_7, UNIT_8], secrets) == (
        "gateway:g-pw\nunit-7:seven\nunit-8:eight\n"
    )


def test_a_missing_secret_is_refused_not_written_empty() -> None:
    with pytest.raises(ConfigError, match="mqtt_device_password:unit-7"):
        mqtt_accounts.plain_password_lines([UNIT_7], {"mqtt_gateway_password": "g"})


def test_the_configuration_refuses_anonymous_and_keeps_files_in_the_home(tmp_path: Path) -> None:
    lines = config_text(11883, tmp_path, as_root=False).splitlines()
    assert "allow_anonymous false" in lines
    assert "listener 11883 127.0.0.1" in lines
    assert f"password_file {tmp_path / 'passwd'}" in lines
    assert f"acl_file {tmp_path / 'acl'}" in lines
    assert f"persistence_location {tmp_path / 'data'}/" in lines
    assert not [line for line in lines if line.startswith("user ")]
    assert "user root" in config_text(11883, tmp_path, as_root=True).splitlines()


def test_the_start_check_sends_an_mqtt_311_connect_with_user_and_password() -> None:
    packet = connect_packet("c", "gateway", "pw")
    # Fixed header 0x10, remaining length 26; "MQTT", level 4, flags user+password+clean,
    # keep-alive 10, then client id, user name and password, each length-prefixed.
    assert packet == (b"\x10\x1a\x00\x04MQTT\x04\xc2\x00\x0a\x00\x01c\x00\x07gateway\x00\x02pw")
    long = connect_packet("c", "u", "p" * 200)
    assert long[1:3] == bytes([(len(long) - 3) % 128 | 0x80, (len(long) - 3) // 128])


def _home(tmp_path: Path, secrets: dict[str, str]) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secrets.json").write_text(json.dumps(secrets))
    return Settings(_env_file=None, home=home, mqtt_url=None, mqtt_port=12345)


def test_the_gateway_and_a_device_get_their_passwords_from_the_stack(tmp_path: Path) -> None:
    settings = _home(
        tmp_path, {"mqtt_gateway_password": "g-pw", "mqtt_device_password:unit-7": "seven"}
    )
    gateway = mqtt_accounts.gateway_credentials(settings)
    assert (gateway.host, gateway.port, gateway.username, gateway.password) == (
        "127.0.0.1",
        12345,
        "gateway",
        "g-pw",
    )
    assert "g-pw" not in repr(gateway)
    assert mqtt_accounts.device_password(settings, "unit-7") == "seven"
    with pytest.raises(ConfigError, match=r"no MQTT password for device 'unit-8'"):
        mqtt_accounts.device_password(settings, "unit-8")


def test_an_external_broker_is_reached_as_its_url_says(tmp_path: Path) -> None:
    settings = _home(tmp_path, {}).model_copy(
        update={"mqtt_url": "mqtt://ingest:s%40cret@broker.example:8883"}
    )
    gateway = mqtt_accounts.gateway_credentials(settings)
    assert (gateway.host, gateway.port, gateway.username, gateway.password) == (
        "broker.example",
        8883,
        "ingest",
        "s@cret",
    )


def test_before_the_first_stack_up_the_gateway_is_told_what_to_do(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path / "none", mqtt_url=None)
    with pytest.raises(ConfigError, match=r"run `logistream stack up`"):
        mqtt_accounts.gateway_credentials(settings)
