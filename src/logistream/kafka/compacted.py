"""Send one record to a compacted topic (the current state per key) and wait for Kafka's
acknowledgement: the send of the outboxes that publish what PostgreSQL committed (shipments,
operating modes), written once.

The topic is created compacted on first use. A record Kafka did not acknowledge within the
timeout is purged from the producer's queue, so it cannot land later after a newer version sent
by another process, and :class:`~logistream.errors.StoreUnavailable` says what stays stored and
what sends it again. The producer is the project's durable one (idempotent, acks=all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol

from logistream.config import Endpoints, Settings
from logistream.errors import StackError, StoreUnavailable
from logistream.kafka.config import ensure_topics
from logistream.kafka.producer import Deliveries, Producer, durable_producer

if TYPE_CHECKING:
    import psycopg

COMPACTED_CONFIG: Final = {
    # The topic is the current state of each key: the latest record per key is kept.
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
}


def ensure_compacted(
    settings: Settings, topic: str, endpoints: Endpoints | None = None, *, timeout_s: float = 30.0
) -> None:
    """Create the compacted ``topic`` if it does not exist yet."""
    ensure_topics(
        settings, [topic], endpoints=endpoints, config=COMPACTED_CONFIG, timeout_s=timeout_s
    )


class OutboxPublisher(Protocol):
    """What an outbox's publisher offers (``ShipmentPublisher``, ``ModePublisher``): send one
    committed row by its key, send every row still pending, close."""

    def publish(self, conn: psycopg.Connection[Any], key: str, /) -> object: ...

    def publish_pending(self, conn: psycopg.Connection[Any]) -> int: ...

    def close(self) -> None: ...


class CompactedSender:
    """Sends records one at a time to ``topic``, each acknowledged before :meth:`send` returns.

    ``what`` names the records in errors ("shipment", "mode"); ``resent_by`` says what sends a
    record again that Kafka did not take.
    """

    def __init__(
        self,
        settings: Settings,
        topic: str,
        *,
        what: str,
        resent_by: str,
        endpoints: Endpoints | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self.topic = topic
        self._what = what
        self._resent_by = resent_by
        self._endpoints = endpoints
        self._timeout = timeout_s
        self._producer: Producer | None = None

    def send(self, key: str, value: bytes, stored: str) -> None:
        """Produce and wait; ``stored`` names the record in the error ("shipment 'S-1' version
        3")."""
        producer = self._ready()
        deliveries: Deliveries[str] = Deliveries()
        producer.produce(self.topic, value, key, on_delivery=deliveries.track(key))
        left = producer.flush(self._timeout)
        if left or deliveries.failed:
            # Drop it so it cannot land later, after a newer version sent by someone else.
            producer.purge()
            producer.poll(0)
            why = (
                deliveries.failed[0][1]
                if deliveries.failed
                else f"no answer in {self._timeout:g} s"
            )
            raise StoreUnavailable(
                "kafka",
                f"{stored} is stored but not yet on Kafka topic {self.topic!r} ({why}); "
                f"{self._resent_by}",
            )

    def close(self) -> None:
        """Hand over what is queued (bounded by the timeout)."""
        if self._producer is not None:
            self._producer.flush(self._timeout)
            self._producer = None

    def _ready(self) -> Producer:
        if self._producer is None:
            try:
                ensure_compacted(
                    self._settings, self.topic, self._endpoints, timeout_s=self._timeout
                )
            except StackError as error:  # Kafka out of reach: the same outage as a late ack
                raise StoreUnavailable(
                    "kafka", f"{error}; the {self._what} changes stay stored and unpublished"
                ) from error
            self._producer = durable_producer(self._settings, self._endpoints)
        return self._producer
