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

from typing import TYPE_CHECKING, Any

from logistream.config import Endpoints, Settings
from logistream.kafka.compacted import CompactedSender, ensure_compacted
from logistream.registry import Registry
from logistream.shipments.store import RECORD_COLUMNS, record_from_row
from logistream.shipments.wire import ShipmentRecord, encode_record

if TYPE_CHECKING:
    import psycopg


def ensure_topic(
    settings: Settings, endpoints: Endpoints | None = None, *, timeout_s: float = 30.0
) -> None:
    """Create the compacted ``shipments`` topic if it does not exist yet."""
    ensure_compacted(settings, settings.topic_shipments, endpoints, timeout_s=timeout_s)


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
        self._registry = registry
        self._sender = CompactedSender(
            settings,
            settings.topic_shipments,
            what="shipment",
            resent_by="publish_pending sends it (every shipments command calls it first)",
            endpoints=endpoints,
            timeout_s=timeout_s,
        )

    @property
    def topic(self) -> str:
        return self._sender.topic

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
        self._sender.close()

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
            key = record.shipment.shipment_id
            self._sender.send(
                key, encode_record(record), f"shipment {key!r} version {record.version}"
            )
            conn.execute(
                "UPDATE shipments SET published_version = %s WHERE shipment_id = %s",
                (record.version, shipment_id),
            )
        return record
