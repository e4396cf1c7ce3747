"""Settings from the environment (prefix ``LOGISTREAM_``), with defaults that match the local stack.

When ``LOGISTREAM_KAFKA_BOOTSTRAP``, ``LOGISTREAM_DATABASE_URL`` or ``LOGISTREAM_REDIS_URL`` are
set, those servers are used as they are and the local stack starts nothing for them. When they
are not set, the addresses of the local stack (its ports and the passwords in its secrets file)
are used: see :func:`resolve_endpoints`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from logistream.display_time import DEFAULT_ZONE_NAME, zone
from logistream.errors import ConfigError

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Every setting LogiStream reads. Field ``x`` is the variable ``LOGISTREAM_X``."""

    model_config = SettingsConfigDict(env_prefix="LOGISTREAM_", extra="ignore", frozen=True)

    home: Path = Path(".logistream")
    """Folder of the local stack: data, logs, pid files and the secrets file."""

    kafka_bootstrap: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    mqtt_url: str | None = Field(default=None, repr=False)
    """An external MQTT broker, ``mqtt://user:password@host:port``, as the device gateway logs
    in; unset: the local stack's Mosquitto, as its ``gateway`` user."""

    # Ports of the local stack; chosen away from the system defaults so they never collide.
    kafka_port: Port = 19092
    kafka_controller_port: Port = 19093
    postgres_port: Port = 15432
    redis_port: Port = 16379
    mqtt_port: Port = 11883
    kafka_heap: str = "768m"
    kafka_libs: Path | None = None
    """Folder of the Kafka jars; unset: ``build/kafka-libs`` of this checkout."""
    partitions: Annotated[int, Field(ge=1, le=1000)] = 6
    kafka_brokers: Annotated[int, Field(ge=1, le=9)] = 1
    """Kafka nodes of a new local stack (``stack up --brokers``); a stack home keeps its count."""

    # Kafka client security, applied to every client by ``logistream.kafka``.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    """Unset: ``SASL_PLAINTEXT`` when a username is set, else ``PLAINTEXT``."""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: str | None = Field(default=None, repr=False)
    kafka_ssl_ca_location: Path | None = None
    """CA bundle for ``SASL_SSL``/``SSL``; unset: the system's."""

    topic_telemetry: str = "truck_telemetry"
    topic_alerts: str = "truck_alerts"
    topic_commands: str = "alert_commands"
    topic_dlq: str = "truck_telemetry.dlq"
    topic_shipments: str = "shipments"
    """Compacted, key = shipment id: every shipment change (logistream.shipments.publish)."""
    topic_truck_modes: str = "truck_modes"
    """Compacted, key = truck id: every approved operating mode (logistream.modes.publish)."""
    topic_shipment_events: str = "shipment_events"
    """Key = shipment id: every stage change the speed layer sees (``StageEvent``)."""
    speed_group: str = "speed-layer"
    bridge_group: str = "batch-layer"
    notify_group: str = "notifier"

    database_name: str = "logistream"
    # Passwords of the roles the migrations create (bridge: insert only; reader: select only).
    # Unset: taken from the local stack's secrets file.
    bridge_db_password: str | None = None
    reader_db_password: str | None = None

    registry_dir: Path | None = None
    """Folder of user-edited registry TOML files (cargo, routes, fleet); unset = shipped data."""
    rules_file: Path | None = None
    """Your rules.toml: the speed layer's thresholds, and the batch views' where they decide the
    same thing (speed limit, harsh driving, gaps, fuel); unset = the shipped one."""

    timezone: str = DEFAULT_ZONE_NAME
    """IANA time zone of every time shown to people (stored and machine-readable times: UTC)."""
    map_style_url: str | None = None
    """A basemap style (a MapLibre/Carto style JSON URL) under the dashboard's maps; unset = the
    offline map drawn from the shipped Kenya outline only, with no request to any tile server."""
    max_message_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    future_tolerance_s: Annotated[float, Field(ge=0)] = 300.0

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    # Checked when the settings are read, so a wrong one stops a command at start in one line
    # (format_validation_error), not later in a traceback or, worse, a silent fallback.
    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except ValueError as error:
            raise PydanticCustomError("timezone", str(error)) from None
        return value

    @field_validator("registry_dir")
    @classmethod
    def _existing_folder(cls, value: Path | None) -> Path | None:
        if value is None or value.is_dir():
            return value
        if value.exists():
            raise PydanticCustomError(
                "registry_dir",
                "{path} is a file, not a folder; name the folder that holds your cargo.toml, "
                "routes.toml and fleet.toml",
                {"path": str(value)},
            )
        raise PydanticCustomError(
            "registry_dir",
            "no folder {path}; create it with your cargo.toml, routes.toml and fleet.toml, "
            "or unset it to use the shipped registry",
            {"path": str(value)},
        )

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_mqtt_url(value)
            except ValueError as error:
                raise PydanticCustomError("mqtt_url", str(error)) from None
        return value


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the servers are, whether named by the environment or run by the local stack."""

    kafka_bootstrap: str
    database_url: str
    redis_url: str
    mqtt_url: str | None = None
    """The MQTT broker as the device gateway logs in; None: no broker is known (a test session
    on servers named by ``LOGISTREAM_TEST_*`` without ``LOGISTREAM_TEST_MQTT_URL``)."""


@dataclass(frozen=True, slots=True)
class MqttAddress:
    host: str
    port: int
    username: str | None
    password: str | None = field(default=None, repr=False)


MQTT_URL_SHAPE = "mqtt://user:password@host:port"


def parse_mqtt_url(url: str) -> MqttAddress:
    """``mqtt://user:password@host:port`` (port 1883 if left out); ValueError says what is wrong."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise ValueError(f"must start with mqtt:// ({MQTT_URL_SHAPE})")
    try:
        port = parts.port or 1883
    except ValueError:
        raise ValueError(f"the port must be a number from 1 to 65535 ({MQTT_URL_SHAPE})") from None
    if not parts.hostname:
        raise ValueError(f"names no host ({MQTT_URL_SHAPE})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must end after the port ({MQTT_URL_SHAPE})")
    if parts.password is not None and not parts.username:
        raise ValueError(f"has a password but no user ({MQTT_URL_SHAPE})")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return MqttAddress(parts.hostname, port, username, password)


def hide_password(url: str) -> str:
    """``url`` without the password of its user part, to be shown or logged."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user + '@' if user else ''}{host}"


def format_validation_error(error: ValidationError) -> str:
    """One line naming the first wrong setting, as ``LOGISTREAM_<NAME>``."""
    first = error.errors()[0]
    name = "_".join(str(part) for part in first["loc"]).upper()
    shown = first.get("input")
    if name.endswith("_URL") and isinstance(shown, str):
        shown = hide_password(shown)  # a wrong URL may still carry a right password
    return f"LOGISTREAM_{name}: {first['msg']} (got {shown!r})"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; a wrong value raises :class:`ConfigError`."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(format_validation_error(error)) from error


def read_secrets(settings: Settings) -> dict[str, str]:
    """The local stack's generated passwords, or an empty mapping before the first ``stack up``."""
    try:
        data = json.loads(settings.secrets_file.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{settings.secrets_file}: expected a JSON object of passwords")
    return {str(k): str(v) for k, v in data.items()}


def _local_kafka_bootstrap(settings: Settings) -> str:
    # A local cluster records its nodes in <home>/stack.json (logistream.stack.layout); naming
    # them all lets a client start while one node is down.
    try:
        layout = json.loads((settings.home / "stack.json").read_text())
        nodes = layout["nodes"] if int(layout["brokers"]) > 1 else []
        return ",".join(f"127.0.0.1:{int(node[1])}" for node in nodes) or _single(settings)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return _single(settings)


def _single(settings: Settings) -> str:
    return f"127.0.0.1:{settings.kafka_port}"


def resolve_endpoints(settings: Settings | None = None) -> Endpoints:
    """The servers to talk to: those named by the environment, else the local stack's."""
    settings = settings or get_settings()
    secrets = read_secrets(settings)
    kafka = settings.kafka_bootstrap or _local_kafka_bootstrap(settings)
    database = settings.database_url or (
        f"postgresql://logistream:{secrets.get('postgres_password', '')}"
        f"@127.0.0.1:{settings.postgres_port}/{settings.database_name}"
    )
    redis = settings.redis_url or (
        f"redis://:{secrets.get('redis_password', '')}@127.0.0.1:{settings.redis_port}/0"
    )
    # The local Mosquitto's gateway user (logistream.stack.mqtt_accounts keeps its name).
    mqtt = settings.mqtt_url or (
        f"mqtt://gateway:{secrets.get('mqtt_gateway_password', '')}@127.0.0.1:{settings.mqtt_port}"
    )
    return Endpoints(kafka_bootstrap=kafka, database_url=database, redis_url=redis, mqtt_url=mqtt)


def role_password(settings: Settings, role: str) -> str:
    """Password for a database role the migrations create (``bridge`` or ``reader``)."""
    explicit = {"bridge": settings.bridge_db_password, "reader": settings.reader_db_password}[role]
    if explicit:
        return explicit
    secret = read_secrets(settings).get(f"{role}_db_password")
    if not secret:
        raise ConfigError(
            f"LOGISTREAM_{role.upper()}_DB_PASSWORD: not set and no local stack secrets file "
            f"at {settings.secrets_file}; set it, or run `logistream stack up`"
        )
    return secret


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment with its ``LOGISTREAM_*`` replaced by ``settings``."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTREAM_")}
    env.update(to_env(settings))
    return env


def to_env(settings: Settings) -> dict[str, str]:
    """The ``LOGISTREAM_*`` variables that make a child process see exactly these settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"LOGISTREAM_{name.upper()}"] = str(value)
    return env


# The database roles the migrations create; the owner (migration) role is the one in the URL.
DATABASE_ROLES: dict[str, str] = {"bridge": "logistream_bridge", "reader": "logistream_reader"}


def role_conninfo(owner_url: str, role: str, password: str) -> str:
    """The archive's URL with a service role (``bridge`` or ``reader``) in place of the owner."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(owner_url, user=DATABASE_ROLES[role], password=password)
