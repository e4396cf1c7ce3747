"""One worker thread per channel: a dead mail server never delays an SMS.

Each worker claims the next due pending row of its channel (``FOR UPDATE SKIP LOCKED``, so
several notifiers share the work), sends it while holding the row lock, and records the outcome
in the same transaction: sent, retry later (backoff), failed (permanent, with the reason), or
superseded (a held message whose alert has moved on). A crash mid-send leaves the row pending;
it is sent again, with the same idempotency key, after the restart.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from logistream.backoff import Backoff
from logistream.notify import log_store
from logistream.notify.channels.base import Channel, SendError, backoff_s
from logistream.notify.log_store import Pending
from logistream.notify.options import NotifyOptions

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("logistream.notify")


def superseded(item: Pending) -> str | None:
    """Why a held or escalation message is no longer worth sending (None: send it)."""
    if item.kind == "watchdog" or item.current_state is None:
        return None
    if (item.held or item.kind == "escalation") and item.current_state != item.state:
        return f"the alert is {item.current_state} now"
    return None


class ChannelWorker(threading.Thread):
    def __init__(
        self, channel: Channel, database_url: str, options: NotifyOptions, stop: threading.Event
    ) -> None:
        super().__init__(name=f"notify-{channel.name}", daemon=True)
        self.channel = channel
        self.database_url = database_url
        self.options = options
        self.stop = stop
        self.wake = threading.Event()
        self.sent = 0
        self.failed = 0
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=10)
        return self._conn

    def run(self) -> None:
        import psycopg

        # PostgreSQL down: one warning per retry, spaced out to 10 s apart (a long outage does
        # not flood the log, and sends resume within 10 s of its end).
        backoff = Backoff(initial_s=1.0, cap_s=10.0)
        while not self.stop.is_set():
            self.wake.clear()  # before looking, so a wake-up during the look is not lost
            try:
                busy = self.send_one()
            except psycopg.Error as error:
                delay = backoff.next_delay()
                log.warning("%s worker: PostgreSQL error (%s); retry %d in %.1f s",
                            self.channel.name, str(error).strip(), backoff.attempts,
                            delay)  # fmt: skip
                self._conn = None
                self.stop.wait(delay)
                continue
            backoff.reset()
            if not busy:
                self.wake.wait(self.options.check_interval_s)
        self.channel.close()
        if self._conn is not None:
            self._conn.close()

    def send_one(self) -> bool:
        """Send the next due row; False when none is due."""
        conn = self._connection()
        with conn.transaction():
            item = log_store.claim_next(conn, self.channel.name)
            if item is None:
                return False
            why = superseded(item)
            if why is not None:
                log_store.mark_superseded(conn, item, why)
                return True
            started = time.monotonic()
            try:
                ref = self.channel.send(item)
            except SendError as error:
                attempt = item.attempts + 1
                if error.permanent or attempt >= self.options.max_attempts:
                    reason = (
                        str(error)
                        if error.permanent
                        else f"gave up after {attempt} attempts: {error}"
                    )
                    log_store.mark_failed(conn, item, reason)
                    self.failed += 1
                    log.error("%s to %s failed for good: %s", self.channel.name, item.key, reason)
                else:
                    delay = backoff_s(attempt, self.options.backoff_base_s,
                                      self.options.backoff_max_s, item.key)  # fmt: skip
                    log_store.mark_retry(conn, item, str(error), delay)
                    log.warning("%s %s: %s; retry %d in %.1f s", self.channel.name, item.key,
                                error, attempt + 1, delay)  # fmt: skip
                return True
            log_store.mark_sent(conn, item, ref)
            self.sent += 1
            log.info("%s sent %s (%s, %.0f ms)", self.channel.name, item.key, item.kind,
                     (time.monotonic() - started) * 1000)  # fmt: skip
            return True
