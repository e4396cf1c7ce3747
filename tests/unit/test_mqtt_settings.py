"""LOGISTREAM_MQTT_URL: a wrong one is refused when the settings are read, in one line naming the
variable and without its password; a right one is parsed into host, port, user and password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from logistream.config import (
    Settings,
    get_settings,
    hide_password,
    parse_mqtt_url,
    resolve_endpoints,
)
from logistream.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOGISTREAM_MQTT_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


SHAPE = "(mqtt://user:password@host:port)"

WRONG = [
    ("http://gw:pw@broker:1883", f"must start with mqtt:// {SHAPE}", "http://gw@broker:1883"),
    ("mqtt://gw:pw@broker:port", f"the port must be a number from 1 to 65535 {SHAPE}", None),
    ("mqtt://gw:pw@broker:70000", f"the port must be a number from 1 to 65535 {SHAPE}", None),
    ("mqtt://gw:pw@:1883", f"names no host {SHAPE}", "mqtt://gw@:1883"),
    ("mqtt://gw:pw@broker:1883/topic", f"must end after the port {SHAPE}", None),
    ("mqtt://:pw@broker:1883", f"has a password but no user {SHAPE}", "mqtt://broker:1883"),
    ("broker:1883", f"must start with mqtt:// {SHAPE}", "broker:1883"),
]


@pytest.mark.parametrize(("value", "reason", "shown"), WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_mqtt_url_is_refused_in_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str, shown: str | None
) -> None:
    monkeypatch.setenv("LOGISTREAM_MQTT_URL", value)
    with pytest.raises(ConfigError) as refused:
        get_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"LOGISTREAM_MQTT_URL: {reason} (got ")
    assert ":pw@" not in message
    if shown is not None:
        assert message.endswith(f"(got {shown!r})")


def test_a_right_mqtt_url_is_taken_and_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTREAM_MQTT_URL", "mqtt://gateway:p%3Aw@broker.example:8883")
    settings = get_settings()
    assert settings.mqtt_url == "mqtt://gateway:p%3Aw@broker.example:8883"
    address = parse_mqtt_url(settings.mqtt_url)
    assert (address.host, address.port, address.username, address.password) == (
        "broker.example",
        8883,
        "gateway",
        "p:w",
    )
    assert "p%3Aw" not in repr(settings)
    assert parse_mqtt_url("mqtt://broker").port == 1883
    assert parse_mqtt_url("mqtt://broker").username is None


def test_without_a_url_the_endpoints_name_the_local_broker_as_the_gateway() -> None:
    settings = Settings(_env_file=None, home="/nonexistent-home", mqtt_url=None, mqtt_port=12345)
    assert resolve_endpoints(settings).mqtt_url == "mqtt://gateway:@127.0.0.1:12345"
    named = settings.model_copy(update={"mqtt_url": "mqtt://a:b@h:1"})
    assert resolve_endpoints(named).mqtt_url == "mqtt://a:b@h:1"


def test_hide_password_keeps_the_user_and_host() -> None:
    assert hide_password("mqtt://gw:secret@h:1883") == "mqtt://gw@h:1883"
    assert hide_password("mqtt://h:1883") == "mqtt://h:1883"
