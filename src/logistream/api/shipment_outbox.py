"""The API's side of the shipments outbox: after a change is committed, send it on the
``shipments`` topic; at start, send what an earlier process left unpublished.

The same ``ShipmentPublisher`` as ``logistream shipments``, with the same choice as the CLI: a
Kafka outage after the commit does not undo the change (PostgreSQL is the source of truth). The
change stays pending, the answer says so (HTTP 202 with a warning), and the next start of the
API or of a ``shipments`` command sends it. The start-up sending runs in a thread, so the API
serves ``/health`` and ``/ready`` at once even when Kafka or PostgreSQL is down.

One producer for the process; sends are serialised by a lock, so the publisher's lazily made
producer and its flush are never shared by two requests (shipment changes are few).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from logistream.config import Endpoints, Settings
from logistream.errors import LogiStreamError
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

    from logistream.shipments.publish import ShipmentPublisher

log = logging.getLogger("logistream.api.shipments")

Connect = Callable[[], AbstractContextManager["psycopg.Connection[Any]"]]


class ShipmentOutbox:
    def __init__(
        self, settings: Settings, endpoints: Endpoints, registry: Registry, timeout_s: float
    ) -> None:
        from logistream.shipments.publish import ShipmentPublisher

        self._publisher: ShipmentPublisher = ShipmentPublisher(
            settings, registry, endpoints, timeout_s=timeout_s
        )
        self._lock = threading.Lock()
        self._healing: threading.Thread | None = None

    def publish(self, conn: psycopg.Connection[Any], shipment_id: str) -> str | None:
        """Send the committed change; None when Kafka has it, else why not (it stays pending)."""
        with self._lock:
            try:
                self._publisher.publish(conn, shipment_id)
            except LogiStreamError as error:
                log.warning("shipment %s stored but not published: %s", shipment_id, error)
                return (
                    f"shipment {shipment_id!r} is stored but not yet on Kafka ({error}); it is "
                    "sent at the next start of the API or of a `logistream shipments` command"
                )
        return None

    def heal_in_background(self, connect: Connect) -> None:
        """Send every change still unpublished (``publish_pending``), once, in a thread."""

        def heal() -> None:
            import psycopg

            with self._lock:
                try:
                    with connect() as conn:
                        sent = self._publisher.publish_pending(conn)
                except (LogiStreamError, psycopg.Error) as error:
                    log.warning("earlier shipment changes are not on Kafka yet: %s", error)
                    return
            if sent:
                log.info("sent %d pending shipment change(s) to Kafka", sent)

        self._healing = threading.Thread(target=heal, name="api-shipments-outbox", daemon=True)
        self._healing.start()

    def close(self, timeout_s: float = 10.0) -> None:
        if self._healing is not None:
            self._healing.join(timeout_s)
        with self._lock:
            try:
                self._publisher.close()
            except LogiStreamError as error:
                log.warning("closing the shipments producer: %s", error)
