"""Kafka, the one way LogiStream uses it (layer-free, shared by every layer).

``config``: client settings, the raw clients, topics; ``records``: the typed shapes of what
librdkafka hands out; ``producer`` and ``consumer``: the typed wrappers, the one place that waits
out a full queue and counts delivery reports, so the rest of the code sees typed objects, not
``Any``. Import from here: ``from logistream.kafka import Producer``.
"""

from logistream.kafka.config import (
    DURABLE_PRODUCER,
    broker_count,
    client_config,
    ensure_topics,
    is_fatal,
    make_admin,
    make_consumer,
    make_producer,
    pipeline_topics,
    security_config,
)
from logistream.kafka.consumer import (
    Consumer,
    group_consumer,
)
from logistream.kafka.producer import (
    Deliveries,
    Producer,
    as_producer,
    durable_producer,
)
from logistream.kafka.records import (
    OFFSET_BEGINNING,
    OFFSET_UNSET,
    ConfigValue,
    DeliveryCallback,
    KafkaIssue,
    Received,
    Record,
    TopicOffset,
)

__all__ = [
    "DURABLE_PRODUCER",
    "OFFSET_BEGINNING",
    "OFFSET_UNSET",
    "ConfigValue",
    "Consumer",
    "Deliveries",
    "DeliveryCallback",
    "KafkaIssue",
    "Producer",
    "Received",
    "Record",
    "TopicOffset",
    "as_producer",
    "broker_count",
    "client_config",
    "durable_producer",
    "ensure_topics",
    "group_consumer",
    "is_fatal",
    "make_admin",
    "make_consumer",
    "make_producer",
    "pipeline_topics",
    "security_config",
]
