"""Kafka configured the one way LogiStream uses it: client settings (security included), the raw
``confluent_kafka`` clients, fatal-error checks, and the pipeline's topics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import (
    ConfigError,
    StackError,
)
from logistream.kafka.records import ConfigValue

# Durable producing: nothing acknowledged is lost, retries never duplicate within a session.
DURABLE_PRODUCER: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 300_000,
}


def is_fatal(error: Any) -> bool:
    """Whether a client's ``KafkaError`` means the client can never be used again.

    A fatal error reaches a consumer as an event whose code is ``_FATAL``, on which ``fatal()``
    is not always true (a static member fenced after a broker bounce is one).
    """
    from confluent_kafka import KafkaError

    return bool(error.fatal()) or error.code() == KafkaError._FATAL


def _bootstrap(settings: Settings, endpoints: Endpoints | None) -> str:
    return (endpoints or resolve_endpoints(settings)).kafka_bootstrap


def security_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings for ``LOGISTREAM_KAFKA_SECURITY_PROTOCOL`` and the SASL credentials.

    Every client LogiStream builds goes through here, so one set of variables secures them all.
    """
    protocol = settings.kafka_security_protocol or (
        "SASL_PLAINTEXT" if settings.kafka_username else "PLAINTEXT"
    )
    config: dict[str, Any] = {"security.protocol": protocol}
    if protocol.startswith("SASL_"):
        if not settings.kafka_username or not settings.kafka_password:
            raise ConfigError(
                f"LOGISTREAM_KAFKA_USERNAME and LOGISTREAM_KAFKA_PASSWORD: both are needed when "
                f"LOGISTREAM_KAFKA_SECURITY_PROTOCOL is {protocol}"
            )
        config.update(
            {
                "sasl.mechanism": settings.kafka_sasl_mechanism,
                "sasl.username": settings.kafka_username,
                "sasl.password": settings.kafka_password,
            }
        )
    if settings.kafka_ssl_ca_location and protocol in ("SSL", "SASL_SSL"):
        config["ssl.ca.location"] = str(settings.kafka_ssl_ca_location)
    return config


def client_config(settings: Settings, endpoints: Endpoints | None = None) -> dict[str, Any]:
    """Bootstrap servers and security: the base of every Kafka client's configuration."""
    return {"bootstrap.servers": _bootstrap(settings, endpoints), **security_config(settings)}


def make_admin(settings: Settings, endpoints: Endpoints | None = None, **overrides: Any) -> Any:
    """A ``confluent_kafka.admin.AdminClient`` with the settings' security; ``overrides`` win."""
    from confluent_kafka.admin import AdminClient

    return AdminClient({**client_config(settings, endpoints), **overrides})


def make_producer(
    settings: Settings, endpoints: Endpoints | None = None, /, **overrides: Any
) -> Any:
    """A durable ``confluent_kafka.Producer`` (idempotent, acks=all); ``overrides`` win."""
    from confluent_kafka import Producer

    config = {**client_config(settings, endpoints), **DURABLE_PRODUCER}
    config.update(overrides)
    return Producer(config)


def make_consumer(
    settings: Settings, group: str, endpoints: Endpoints | None = None, /, **overrides: Any
) -> Any:
    """A ``confluent_kafka.Consumer`` in ``group`` that never auto-commits or auto-stores."""
    from confluent_kafka import Consumer

    config = {
        **client_config(settings, endpoints),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
    }
    config.update(overrides)
    return Consumer(config)


def broker_count(
    settings: Settings,
    endpoints: Endpoints | None = None,
    *,
    timeout_s: float,
    config: Mapping[str, ConfigValue] | None = None,
) -> int:
    """How many brokers the cluster's metadata names (``KafkaException`` when none answers
    within ``timeout_s``): a readiness check."""
    admin = make_admin(settings, endpoints, **(config or {}))
    return len(admin.list_topics(timeout=timeout_s).brokers)


def ensure_topics(
    settings: Settings,
    names: Iterable[str],
    *,
    partitions: int | None = None,
    replication: int | None = None,
    endpoints: Endpoints | None = None,
    config: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are.

    ``replication`` unset: the broker's ``default.replication.factor`` (1 on the single-node
    stack, 3 on ``stack up --brokers 3``). Only missing topics are asked for, so a client
    without CREATE rights (secure stack) can call this for topics that already exist.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.cimpl import NewTopic

    admin = make_admin(settings, endpoints)
    names = list(dict.fromkeys(names))
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as error:
        raise StackError(f"could not list Kafka topics: {error}") from error
    wanted = [
        NewTopic(
            name,
            num_partitions=partitions or settings.partitions,
            replication_factor=-1 if replication is None else replication,
            config=config or {},
        )
        for name in names
        if name not in existing
    ]
    if not wanted:
        return
    futures = admin.create_topics(wanted, operation_timeout=timeout_s, request_timeout=timeout_s)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"could not create Kafka topic {name!r}: {error}") from error


def pipeline_topics(settings: Settings) -> list[str]:
    """The topics of the wire contract, but the compacted ``shipments`` topic (created with
    its own configuration by ``logistream.shipments.publish.ensure_topic``)."""
    return [
        settings.topic_telemetry,
        settings.topic_alerts,
        settings.topic_commands,
        settings.topic_dlq,
        settings.topic_shipment_events,
    ]
