"""The dead-letter queue: the bridge alone publishes refused messages, original bytes kept.

Ordering with the archive (the choice this module makes): the DLQ records of a batch are
produced and *flushed* (every one acknowledged by the broker) BEFORE the batch's PostgreSQL
transaction commits its offsets. A crash between the flush and the commit replays the batch, so a
DLQ record may appear twice (same source topic/partition/offset headers: deduplicate on those),
but one is never lost. ``rejected_readings`` is keyed by source position and holds each once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Final

from logistream.batch.records import Rejection, dlq_headers
from logistream.errors import StoreUnavailable
from logistream.kafka import Deliveries, as_producer

log = logging.getLogger(__name__)

# Keep a DLQ record under the producer's default 1 MB limit even with headers; the full bytes
# are in rejected_readings either way.
MAX_DLQ_VALUE: Final = 900_000


def dlq_value(rejection: Rejection) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Value and headers of the DLQ record (an oversize original is cut, and says so)."""
    raw = rejection.message.value or b""
    headers = dlq_headers(rejection)
    if len(raw) > MAX_DLQ_VALUE:
        headers.append(("truncated_from_bytes", str(len(raw)).encode()))
        raw = raw[:MAX_DLQ_VALUE]
    return raw, headers


class DeadLetters:
    """Publishes the rejections of one batch and waits until the broker has them all."""

    def __init__(self, producer: object, topic: str) -> None:
        self._producer = as_producer(producer)
        self._topic = topic

    def publish(
        self,
        rejections: Sequence[Rejection],
        *,
        should_stop: Callable[[], bool],
        timeout_s: float = 30.0,
    ) -> None:
        """Produce and flush; :class:`StoreUnavailable` (``kafka``) unless all were acknowledged.

        Within one call only records whose delivery failed are produced again, so a slow
        broker does not multiply them; a caller that retries after the error may duplicate
        some (at-least-once, see the module docstring).
        """
        pending = list(rejections)
        deadline = time.monotonic() + timeout_s
        while pending:
            deliveries: Deliveries[Rejection] = Deliveries()
            for rejection in pending:
                value, headers = dlq_value(rejection)
                self._producer.produce(
                    self._topic,
                    value,
                    rejection.message.key,
                    headers=headers,
                    on_delivery=deliveries.track(rejection),
                    wait_s=0.1,
                )
            while self._producer.flush(0.5) > 0:
                if should_stop() or time.monotonic() > deadline:
                    raise StoreUnavailable(
                        "kafka",
                        f"DLQ topic {self._topic!r}: records not acknowledged within "
                        f"{timeout_s:.0f} s; is Kafka up?",
                    )
            failed = [rejection for rejection, _error in deliveries.failed]
            if failed:
                log.warning(
                    "%d DLQ records failed (%s); producing them again",
                    len(failed),
                    deliveries.failed[0][1],
                )
                if should_stop() or time.monotonic() > deadline:
                    raise StoreUnavailable("kafka", f"DLQ topic {self._topic!r}: delivery failed")
                time.sleep(0.5)
            pending = failed
