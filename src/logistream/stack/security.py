"""``stack up --secure``: one Kafka principal and one Redis user per service, least privilege.

Kafka: SASL/SCRAM-SHA-512 on the client listener, ACLs enforced by KRaft's StandardAuthorizer,
``admin`` the only super user (the stack itself). Redis: the default user is disabled; the speed
layer may write the ``ls:*`` keys, the readers may only read them. Passwords are generated into
the stack's secrets file (mode 0600) and handed to each service in ``<home>/env/<service>.env``
(mode 0600); they are never printed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Final

from logistream.config import Settings, read_secrets
from logistream.errors import ConfigError, StackError

KAFKA_ADMIN: Final = "admin"
SASL_MECHANISM: Final = "SCRAM-SHA-512"
SCRAM_ITERATIONS: Final = 8192
KAFKA_SERVICES: Final = ("simulator", "speed", "bridge", "api", "dashboard", "notify")
REDIS_ADMIN: Final = "admin"
REDIS_WRITERS: Final = ("speed",)
REDIS_READERS: Final = ("dashboard", "api", "notify")
REDIS_SERVICES: Final = REDIS_WRITERS + REDIS_READERS


def kafka_secret(user: str) -> str:
    return f"kafka_{user}_password"


def redis_secret(user: str) -> str:
    """The Redis admin keeps the stack's ``redis_password``; each service has its own."""
    return "redis_password" if user == REDIS_ADMIN else f"redis_{user}_password"


def secure_secret_names() -> list[str]:
    names = [kafka_secret(KAFKA_ADMIN)] + [kafka_secret(s) for s in KAFKA_SERVICES]
    return names + [redis_secret(s) for s in REDIS_SERVICES]


def _secret(settings: Settings, name: str) -> str:
    value = read_secrets(settings).get(name)
    if not value:
        raise ConfigError(
            f"{name}: missing from {settings.secrets_file}; run `logistream stack up --secure`"
        )
    return value


# ---- Kafka -------------------------------------------------------------------------------------


def kafka_client_settings(settings: Settings, user: str, bootstrap: str) -> Settings:
    """``settings`` as Kafka principal ``user`` of the local secure stack."""
    return settings.model_copy(
        update={
            "kafka_bootstrap": bootstrap,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": SASL_MECHANISM,
            "kafka_username": user,
            "kafka_password": _secret(settings, kafka_secret(user)),
        }
    )


def broker_security_properties(listener: str, admin_password: str) -> list[str]:
    """server.properties lines: SCRAM for clients and brokers, PLAIN between nodes and controllers.

    SCRAM credentials live in the metadata log, which a controller has not read when it starts,
    so the controller listener authenticates with PLAIN (one static user, the admin).
    """
    prefix = f"listener.name.{listener.lower()}"
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{KAFKA_ADMIN}" password="{admin_password}" '
        f'user_{KAFKA_ADMIN}="{admin_password}";'
    )
    scram = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{KAFKA_ADMIN}" password="{admin_password}";'
    )
    return [
        f"{prefix}.sasl.enabled.mechanisms={SASL_MECHANISM}",
        f"{prefix}.{SASL_MECHANISM.lower()}.sasl.jaas.config={scram}",
        f"sasl.mechanism.inter.broker.protocol={SASL_MECHANISM}",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={plain}",
        "sasl.mechanism.controller.protocol=PLAIN",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{KAFKA_ADMIN}",
        "allow.everyone.if.no.acl.found=false",
    ]


def format_scram_argument(admin_password: str) -> list[str]:
    """StorageTool arguments that create the admin's SCRAM credential with the metadata log."""
    return ["--add-scram", f"{SASL_MECHANISM}=[name={KAFKA_ADMIN},password={admin_password}]"]


def kafka_acls(settings: Settings) -> dict[str, list[tuple[str, str, str, str]]]:
    """Per service: (resource type, name, pattern type, operation) it is allowed."""
    telemetry, alerts = settings.topic_telemetry, settings.topic_alerts
    commands, dlq = settings.topic_commands, settings.topic_dlq
    shipments, stage_events = settings.topic_shipments, settings.topic_shipment_events
    # The speed layer's compacted checkpoint topic, named after the telemetry topic; the speed
    # layer creates it itself on first start.
    checkpoint = f"{telemetry}.speed-checkpoint"

    def topic(name: str, operation: str) -> tuple[str, str, str, str]:
        return ("TOPIC", name, "LITERAL", operation)

    def groups(prefix: str) -> tuple[str, str, str, str]:
        # Prefixed: the speed layer also reads with "<group>.commands.<instance>",
        # "<group>.shipments.<instance>" and "<group>.checkpoint-reader.<uuid>".
        return ("GROUP", prefix, "PREFIXED", "READ")

    return {
        "simulator": [topic(telemetry, "WRITE")],
        "speed": [
            topic(telemetry, "READ"),
            topic(commands, "READ"),
            topic(alerts, "WRITE"),
            topic(checkpoint, "READ"),
            topic(checkpoint, "WRITE"),
            topic(checkpoint, "CREATE"),
            topic(shipments, "READ"),
            topic(stage_events, "WRITE"),
            groups(settings.speed_group),
        ],
        "bridge": [
            topic(telemetry, "READ"),
            topic(alerts, "READ"),
            topic(dlq, "WRITE"),
            groups(settings.bridge_group),
        ],
        # HTTP ingest publishes readings; acknowledgements go to the command topic.
        # The shipment store's writers publish every change on the compacted shipments topic.
        "api": [
            topic(telemetry, "WRITE"),
            topic(commands, "WRITE"),
            topic(shipments, "WRITE"),
            topic(shipments, "CREATE"),
        ],
        "dashboard": [
            topic(commands, "WRITE"),
            topic(shipments, "WRITE"),
            topic(shipments, "CREATE"),
        ],
        "notify": [topic(alerts, "READ"), groups(settings.notify_group)],
    }


def apply_kafka_security(admin: Any, settings: Settings, timeout_s: float = 30.0) -> None:
    """Create or update every service's SCRAM credential and ACLs (idempotent)."""
    # The private modules: confluent_kafka.admin does not re-export these for type checkers.
    from confluent_kafka.admin._acl import AclBinding, AclOperation, AclPermissionType
    from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
    from confluent_kafka.admin._scram import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts = [
        UserScramCredentialUpsertion(user, info, _secret(settings, kafka_secret(user)).encode())
        for user in KAFKA_SERVICES
    ]
    for user, future in admin.alter_user_scram_credentials(upserts).items():
        try:
            future.result(timeout=timeout_s)
        except Exception as error:
            raise StackError(
                f"could not set the Kafka SCRAM credential of {user!r}: {error}"
            ) from error
    bindings = [
        AclBinding(
            ResourceType[resource],
            name,
            ResourcePatternType[pattern],
            f"User:{user}",
            "*",
            AclOperation[operation],
            AclPermissionType.ALLOW,
        )
        for user, rules in kafka_acls(settings).items()
        for resource, name, pattern, operation in rules
    ]
    for binding, future in admin.create_acls(bindings, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except Exception as error:
            raise StackError(f"could not create the Kafka ACL {binding}: {error}") from error


# ---- Redis -------------------------------------------------------------------------------------


def redis_acl_lines(settings: Settings) -> list[str]:
    """redis.conf ``user`` lines; passwords only as SHA-256 hashes, so the file holds none."""

    def digest(user: str) -> str:
        return "#" + hashlib.sha256(_secret(settings, redis_secret(user)).encode()).hexdigest()

    lines = [
        "user default off resetpass nocommands resetkeys",
        f"user {REDIS_ADMIN} on {digest(REDIS_ADMIN)} ~* &* +@all",
    ]
    for user in REDIS_WRITERS:
        lines.append(f"user {user} on {digest(user)} resetkeys ~ls:* +@all -@dangerous")
    for user in REDIS_READERS:
        # %R~: read-only key access; SELECT because tests and users pick a database index.
        lines.append(
            f"user {user} on {digest(user)} resetkeys %R~ls:* +@read +@connection "
            "-@dangerous +select"
        )
    return lines


def redis_url(settings: Settings, user: str, database: int = 0) -> str:
    password = _secret(settings, redis_secret(user))
    return f"redis://{user}:{password}@127.0.0.1:{settings.redis_port}/{database}"


# ---- per-service environment ---------------------------------------------------------------------


def service_environment(settings: Settings, service: str, bootstrap: str) -> dict[str, str]:
    """The ``LOGISTREAM_*`` variables that make ``service`` use its own principal and user."""
    env: dict[str, str] = {}
    if service in KAFKA_SERVICES:
        env.update(
            LOGISTREAM_KAFKA_BOOTSTRAP=bootstrap,
            LOGISTREAM_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            LOGISTREAM_KAFKA_SASL_MECHANISM=SASL_MECHANISM,
            LOGISTREAM_KAFKA_USERNAME=service,
            LOGISTREAM_KAFKA_PASSWORD=_secret(settings, kafka_secret(service)),
        )
    if service in REDIS_SERVICES:
        env["LOGISTREAM_REDIS_URL"] = redis_url(settings, service)
    return env


def env_dir(settings: Settings) -> Path:
    return settings.home / "env"


def write_service_env_files(settings: Settings, bootstrap: str) -> None:
    """``<home>/env/<service>.env`` (mode 0600): ``set -a; . env/speed.env`` before a service."""
    folder = env_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for service in dict.fromkeys(KAFKA_SERVICES + REDIS_SERVICES):
        env = service_environment(settings, service, bootstrap)
        text = "".join(f"{name}={value}\n" for name, value in env.items())
        path = folder / f"{service}.env"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(path, 0o600)
