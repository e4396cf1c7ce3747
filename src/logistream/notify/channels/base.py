"""What every channel shares: the send error that says whether to retry, and the backoff."""

from __future__ import annotations

import hashlib
from typing import Protocol

from logistream.errors import SendError as SendError  # channels raise it; re-exported here
from logistream.notify.log_store import Pending


class Channel(Protocol):
    name: str

    def send(self, item: Pending) -> str | None:
        """Send ``item``; return the provider's reference (message id), if any."""
        ...

    def close(self) -> None: ...


def backoff_s(attempt: int, base_s: float, cap_s: float, key: str) -> float:
    """Delay before attempt ``attempt + 1``: exponential, capped, with a jitter of up to 25 %
    derived from the key, so sends that failed together do not retry in lockstep (and a test
    replays exactly)."""
    delay = min(cap_s, base_s * 2.0 ** max(0, attempt - 1))
    jitter = int.from_bytes(hashlib.sha256(f"{key}|{attempt}".encode()).digest()[:2], "big")
    return delay * (1.0 + 0.25 * jitter / 65535.0)


def http_retryable(status: int) -> bool:
    """Which HTTP answers are worth another try: timeouts, throttling and server errors."""
    return status in (408, 425, 429) or status >= 500
