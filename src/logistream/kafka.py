"""Kafka clients configured the one way LogiStream uses them (layer-free, shared by every layer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from logistream.config import Endpoints, Settings, resolve_endpoints
from logistream.errors import StackError

# Durable producing: nothing acknowledged is lost, retries never duplicate within a session.
DURABLE_PRODUCER: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
    "message.timeout.ms": 300_000,
}


def _bootstrap(settings: Settings, endpoints: Endpoints | None) -> str:
    return (endpoints or resolve_endpoints(settings)).kafka_bootstrap


def make_producer(settings: Settings, endpoints: Endpoints | None = None, **overrides: Any) -> Any:
    """A durable ``confluent_kafka.Producer`` (idempotent, acks=all); ``overrides`` win."""
    from confluent_kafka import Producer

    config = {"bootstrap.servers": _bootstrap(settings, endpoints), **DURABLE_PRODUCER}
    config.update(overrides)
    return Producer(config)


def make_consumer(
    settings: Settings, group: str, endpoints: Endpoints | None = None, **overrides: Any
) -> Any:
    """A ``confluent_kafka.Consumer`` in ``group`` that never auto-commits or auto-stores."""
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": _bootstrap(settings, endpoints),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
    }
    config.update(overrides)
    return Consumer(config)


def ensure_topics(
    settings: Settings,
    names: Iterable[str],
    *,
    partitions: int | None = None,
    replication: int = 1,
    endpoints: Endpoints | None = None,
    config: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": _bootstrap(settings, endpoints)})
    wanted = [
        NewTopic(
            name,
            num_partitions=partitions or settings.partitions,
            replication_factor=replication,
            config=config or {},
        )
        for name in names
    ]
    futures = admin.create_topics(wanted, operation_timeout=timeout_s, request_timeout=timeout_s)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"could not create Kafka topic {name!r}: {error}") from error


def pipeline_topics(settings: Settings) -> list[str]:
    """The four topics of the wire contract."""
    return [
        settings.topic_telemetry,
        settings.topic_alerts,
        settings.topic_commands,
        settings.topic_dlq,
    ]
