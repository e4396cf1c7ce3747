"""The API's side of an outbox (shipments, operating modes): after a change is committed, send
it on its compacted topic; at start, send what an earlier process left unpublished.

The publisher is the same as the CLI's, with the same choice: a Kafka outage after the commit
does not undo the change (PostgreSQL is the source of truth). The change stays pending, the
answer says so (HTTP 202 with a warning), and the next start of the API or of the CLI command
sends it. The start-up sending runs in a thread, so the API serves ``/health`` and ``/ready`` at
once even when Kafka or PostgreSQL is down.

One producer per outbox for the process; sends are serialised by a lock, so the publisher's
lazily made producer and its flush are never shared by two requests (such changes are few).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from logistream.errors import LogiStreamError
from logistream.kafka.compacted import OutboxPublisher

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("logistream.api.outbox")

Connect = Callable[[], AbstractContextManager["psycopg.Connection[Any]"]]


class ApiOutbox:
    """``what`` names the records ("shipment", "mode"), ``command`` the CLI that also sends what
    is pending ("logistream shipments")."""

    def __init__(self, publisher: OutboxPublisher, what: str, command: str) -> None:
        self._publisher = publisher
        self._what = what
        self._command = command
        self._lock = threading.Lock()
        self._healing: threading.Thread | None = None

    def publish(self, conn: psycopg.Connection[Any], key: str) -> str | None:
        """Send the committed change; None when Kafka has it, else why not (it stays pending)."""
        with self._lock:
            try:
                self._publisher.publish(conn, key)
            except LogiStreamError as error:
                log.warning("%s %s stored but not published: %s", self._what, key, error)
                return (
                    f"{self._what} {key!r} is stored but not yet on Kafka ({error}); it is sent "
                    f"at the next start of the API or of a `{self._command}` command"
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
                    log.warning("earlier %s changes are not on Kafka yet: %s", self._what, error)
                    return
            if sent:
                log.info("sent %d pending %s change(s) to Kafka", sent, self._what)

        self._healing = threading.Thread(target=heal, name=f"api-{self._what}s-outbox", daemon=True)
        self._healing.start()

    def close(self, timeout_s: float = 10.0) -> None:
        if self._healing is not None:
            self._healing.join(timeout_s)
        with self._lock:
            try:
                self._publisher.close()
            except LogiStreamError as error:
                log.warning("closing the %s producer: %s", self._what, error)
