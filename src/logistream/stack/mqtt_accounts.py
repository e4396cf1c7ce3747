"""Who may use the MQTT broker, and for what: the accounts derived from the device registry.

Every MQTT device of the registry (``kind = "mqtt"``) is a user whose name is its id and whose
password is generated and kept with the stack's other secrets; it may only publish to its own
topic, ``logistream/devices/<id>/telemetry``. The ``gateway`` user may only read those topics
(directly or through a shared subscription). Anonymous clients are refused by the broker's
configuration. The file texts are built here by pure functions; ``mosquitto_server`` writes them.

For the rest of LogiStream (the gateway, the simulator, tests), :func:`gateway_credentials` and
:func:`device_password` are the public way to the passwords.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from logistream.config import Settings, parse_mqtt_url, read_secrets
from logistream.errors import ConfigError
from logistream.registry.devices import Device, Devices

GATEWAY_USER = "gateway"
# Names of entries in the secrets file, not passwords.
GATEWAY_SECRET = "mqtt_gateway_password"  # noqa: S105
DEVICE_SECRET_PREFIX = "mqtt_device_password:"  # noqa: S105
TOPIC_PREFIX = "logistream/devices"
TELEMETRY_FILTER = f"{TOPIC_PREFIX}/+/telemetry"
"""What the gateway subscribes to (``$share/<group>/`` in front for a shared subscription)."""


def telemetry_topic(device_id: str) -> str:
    """The one topic device ``device_id`` may publish to."""
    return f"{TOPIC_PREFIX}/{device_id}/telemetry"


def device_secret_name(device_id: str) -> str:
    return f"{DEVICE_SECRET_PREFIX}{device_id}"


def mqtt_devices(devices: Devices) -> tuple[Device, ...]:
    """The devices that log in to the broker (a Teltonika tracker speaks its own TCP codec)."""
    return devices.of_kind("mqtt")


def secret_names(devices: Devices) -> tuple[str, ...]:
    """The secrets the broker needs: the gateway's password and one per MQTT device."""
    return (GATEWAY_SECRET, *(device_secret_name(d.device_id) for d in mqtt_devices(devices)))


def acl_text(devices: Iterable[Device]) -> str:
    """Mosquitto's ``acl_file``: the gateway reads every device topic, a device writes its own.

    Nothing else is granted, so a device cannot read, nor publish to another device's topic.
    """
    lines = [
        "# Written by `logistream stack up` from the device registry; edits are overwritten.",
        f"user {GATEWAY_USER}",
        f"topic read {TELEMETRY_FILTER}",
        "",
    ]
    for device in devices:
        lines += [
            f"user {device.device_id}",
            f"topic write {telemetry_topic(device.device_id)}",
            "",
        ]
    return "\n".join(lines)


def plain_password_lines(devices: Iterable[Device], secrets: Mapping[str, str]) -> str:
    """``user:password`` lines, which ``mosquitto_passwd -U`` turns into the password file."""
    lines = [f"{GATEWAY_USER}:{_secret(secrets, GATEWAY_SECRET)}"]
    for device in devices:
        password = _secret(secrets, device_secret_name(device.device_id))
        lines.append(f"{device.device_id}:{password}")
    return "\n".join(lines) + "\n"


def _secret(secrets: Mapping[str, str], name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise ConfigError(f"no {name} in the stack's secrets: run `logistream stack up`")
    return value


@dataclass(frozen=True, slots=True)
class MqttCredentials:
    host: str
    port: int
    username: str
    password: str = field(repr=False)


def gateway_credentials(settings: Settings) -> MqttCredentials:
    """Where the gateway connects and as whom: ``LOGISTREAM_MQTT_URL``, else the local stack's
    Mosquitto as its ``gateway`` user (password from the stack's secrets file)."""
    if settings.mqtt_url:
        address = parse_mqtt_url(settings.mqtt_url)
        return MqttCredentials(
            address.host, address.port, address.username or "", address.password or ""
        )
    password = read_secrets(settings).get(GATEWAY_SECRET)
    if not password:
        raise ConfigError(
            f"no MQTT gateway password in {settings.secrets_file}: run `logistream stack up`, "
            "or name a broker with LOGISTREAM_MQTT_URL"
        )
    return MqttCredentials("127.0.0.1", settings.mqtt_port, GATEWAY_USER, password)


def device_password(settings: Settings, device_id: str) -> str:
    """The MQTT password of registry device ``device_id``, as the local stack generated it.

    On a broker named by ``LOGISTREAM_MQTT_URL`` the operator gave the devices their passwords;
    they are known here only if kept in the same secrets file under the same names.
    """
    password = read_secrets(settings).get(device_secret_name(device_id))
    if not password:
        raise ConfigError(
            f"no MQTT password for device {device_id!r} in {settings.secrets_file}: is it an "
            "MQTT device of the registry (devices.toml)? Then run `logistream stack up`"
        )
    return password
