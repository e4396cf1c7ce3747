"""The outbox of operating modes: after a change is committed in PostgreSQL, its record goes on
the compacted Kafka topic ``truck_modes`` (key = truck id), and ``published_version`` is set.

The same design as ``shipments/publish.py``: the store writes PostgreSQL, this sends what
PostgreSQL holds (``published_version < version``), so the topic never carries a change the
database does not; :meth:`ModePublisher.publish_pending`, called at every start of the CLI and
the API, sends what a crash or a Kafka outage left behind. A pending or refused mode is at
version 0 and is never sent. The row is locked from reading it until Kafka acknowledged it and
the mark is written, so the versions of one mode reach the topic in order.

Key = truck id, so compaction keeps each truck's newest mode. A truck's modes are set one after
the other (one open mode per truck), so their records reach the topic in the order they were
made; a record sent twice (a crash before the mark) is harmless (readers keep the newest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logistream.config import Endpoints, Settings
from logistream.kafka.compacted import CompactedSender, ensure_compacted
from logistream.modes.store import COLUMNS, StoredMode
from logistream.modes.wire import ModeRecord, encode_record

if TYPE_CHECKING:
    import psycopg


def ensure_topic(
    settings: Settings, endpoints: Endpoints | None = None, *, timeout_s: float = 30.0
) -> None:
    """Create the compacted ``truck_modes`` topic if it does not exist yet."""
    ensure_compacted(settings, settings.topic_truck_modes, endpoints, timeout_s=timeout_s)


class ModePublisher:
    """Sends mode rows to the topic and marks them published; see the module docstring."""

    def __init__(
        self, settings: Settings, endpoints: Endpoints | None = None, *, timeout_s: float = 30.0
    ) -> None:
        self._sender = CompactedSender(
            settings,
            settings.topic_truck_modes,
            what="mode",
            resent_by="it is sent at the next start of the API or of a `logistream modes` command",
            endpoints=endpoints,
            timeout_s=timeout_s,
        )

    @property
    def topic(self) -> str:
        return self._sender.topic

    def publish(self, conn: psycopg.Connection[Any], mode_id: str) -> ModeRecord | None:
        """Send the mode's committed state if Kafka does not have it yet; the record sent
        (None: nothing to send). Call it after the change's transaction committed."""
        return self._publish(conn, mode_id, wait=True)

    def publish_pending(self, conn: psycopg.Connection[Any]) -> int:
        """Send every row whose latest version Kafka has not acknowledged; how many were sent."""
        rows = conn.execute(
            "SELECT mode_id FROM truck_modes WHERE published_version < version ORDER BY updated_at"
        ).fetchall()
        return sum(1 for (mode_id,) in rows if self._publish(conn, mode_id, wait=False))

    def close(self) -> None:
        """Hand over what is queued (bounded by the timeout)."""
        self._sender.close()

    def _publish(
        self, conn: psycopg.Connection[Any], mode_id: str, *, wait: bool
    ) -> ModeRecord | None:
        lock = "FOR UPDATE" if wait else "FOR UPDATE SKIP LOCKED"
        with conn.transaction():
            row = conn.execute(
                f"SELECT {COLUMNS} FROM truck_modes WHERE mode_id = %s {lock}", (mode_id,)
            ).fetchone()
            if row is None:
                return None
            stored = StoredMode(*row)
            if stored.published_version >= stored.version:
                return None
            record = stored.record()
            self._sender.send(
                record.truck_id,
                encode_record(record),
                f"mode {record.mode_id!r} of truck {record.truck_id!r} version {record.version}",
            )
            conn.execute(
                "UPDATE truck_modes SET published_version = %s WHERE mode_id = %s",
                (stored.version, mode_id),
            )
        return record
