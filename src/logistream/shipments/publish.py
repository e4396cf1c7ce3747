"""The outbox of shipments: after a change is committed in PostgreSQL, its record goes on the
compacted Kafka topic ``shipments`` (key = shipment id), and ``published_version`` is set.

One writer per fact: the store writes PostgreSQL, this sends what PostgreSQL holds, so the topic
never carries a change the database does not. A crash (or a Kafka outage) between the commit and
the acknowledgement leaves ``published_version < version``; :meth:`ShipmentPublisher.
publish_pending`, called at every start of the CLI and the API, sends those rows again.

Order: the row is locked (``FOR UPDATE``) from reading it until Kafka acknowledged it and the
mark is written, so the versions of one shipment reach the topic in order (a change waits for
the send, and a second publisher skips a row being sent). A record may be sent twice (a crash
after the acknowledgement, before the mark): readers keep the highest version, so that is
harmless. Sending is the project's durable producer (idempotent, acks=all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from logistream.config import Endpoints, Settings
from logistream.errors import StackError, StoreUnavailable
from logistream.kafka import Deliveries, Producer, durable_producer, ensure_topics
from logistream.registry import Registry
from logistream.shipments.store import RECORD_COLUMNS, record_from_row
from logistream.shipments.wire import ShipmentRecord, encode_record

if TYPE_CHECKING:
    import psycopg

TOPIC_CONFIG: Final = {
    # The topic is the current state of every shipment: the latest record per key is kept.
    "cleanup.policy": "compact",
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
}


def ensure_topic(
    settings: Settings, endpoints: Endpoints | None = None, *, timeout_s: float = 30.0
) -> None:
    """Create the compacted ``shipments`` topic if it does not exist yet."""
    ensure_topics(
        settings,
        [settings.topic_shipments],
        endpoints=endpoints,
        config=TOPIC_CONFIG,
        timeout_s=timeout_s,
    )


class ShipmentPublisher:
    """Sends shipment rows to the topic and marks them published; see the module docstring.

    ``timeout_s`` bounds each wait for Kafka's acknowledgement; past it the row stays pending,
    and ``StoreUnavailable("kafka", ...)`` says so.
    """

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        endpoints: Endpoints | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._endpoints = endpoints
        self._timeout = timeout_s
        self._producer: Producer | None = None

    @property
    def topic(self) -> str:
        return self._settings.topic_shipments

    def publish(self, conn: psycopg.Connection[Any], shipment_id: str) -> ShipmentRecord | None:
        """Send the shipment's committed state if Kafka does not have it yet; the record sent
        (None: nothing to send). Call it after the change's transaction committed."""
        return self._publish(conn, shipment_id, wait=True)

    def publish_pending(self, conn: psycopg.Connection[Any]) -> int:
        """Send every row whose latest version Kafka has not acknowledged; how many were sent.
        Rows another publisher is sending are skipped (it sends them)."""
        rows = conn.execute(
            "SELECT shipment_id FROM shipments WHERE published_version < version "
            "ORDER BY updated_at"
        ).fetchall()
        sent = 0
        for (shipment_id,) in rows:
            if self._publish(conn, shipment_id, wait=False) is not None:
                sent += 1
        return sent

    def close(self) -> None:
        """Hand over what is queued (bounded by the timeout)."""
        if self._producer is not None:
            self._producer.flush(self._timeout)
            self._producer = None

    def _publish(
        self, conn: psycopg.Connection[Any], shipment_id: str, *, wait: bool
    ) -> ShipmentRecord | None:
        lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
        with conn.transaction():
            # Lock, then read: after waiting on the lock, a statement's PoDs subquery would
            # still see its older snapshot (ShipmentStore._locked says the same).
            locked = conn.execute(
                f"SELECT 1 FROM shipments WHERE shipment_id = %s {lock}", (shipment_id,)
            ).fetchone()
            if locked is None:
                return None
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS}, published_version FROM shipments WHERE shipment_id = %s",
                (shipment_id,),
            ).fetchone()
            if row is None or row[-1] >= row[2]:  # published_version, after RECORD_COLUMNS
                return None
            record = record_from_row(row, self._registry)
            self._send(record)
            conn.execute(
                "UPDATE shipments SET published_version = %s WHERE shipment_id = %s",
                (record.version, shipment_id),
            )
        return record

    def _send(self, record: ShipmentRecord) -> None:
        producer = self._producer_ready()
        key = record.shipment.shipment_id
        deliveries: Deliveries[str] = Deliveries()
        producer.produce(self.topic, encode_record(record), key, on_delivery=deliveries.track(key))
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
                f"shipment {key!r} version {record.version} is stored but not yet on Kafka topic "
                f"{self.topic!r} ({why}); publish_pending sends it (every shipments command "
                "calls it first)",
            )

    def _producer_ready(self) -> Producer:
        if self._producer is None:
            try:
                ensure_topic(self._settings, self._endpoints, timeout_s=self._timeout)
            except StackError as error:  # Kafka out of reach: the same outage as a late ack
                raise StoreUnavailable(
                    "kafka", f"{error}; the shipment changes stay stored and unpublished"
                ) from error
            self._producer = durable_producer(self._settings, self._endpoints)
        return self._producer
