"""Rate and size limits, so one bad client cannot starve the rest.

Rate: a token bucket per key (the token's name; for refused tokens, the client address),
in-process: each API process limits on its own, so N processes behind a balancer allow N times
the rate. Size: request bodies above a limit are refused with 413 before they are read whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Buckets idle this long are forgotten, so a flood of distinct keys cannot grow memory forever.
_IDLE_FORGET_S: Final = 600.0


@dataclass(slots=True)
class TokenBucket:
    """``burst`` requests at once, then ``rate`` per second (pure: the caller passes ``now``)."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    stamp: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> float:
        """0.0 if allowed (and spent); else the seconds to wait before it would be."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key, thread-safe (sync routes run in a thread pool)."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def take(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            if now - self._swept > _IDLE_FORGET_S:
                self._buckets = {
                    k: b for k, b in self._buckets.items() if now - b.stamp < _IDLE_FORGET_S
                }
                self._swept = now
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            return bucket.take(now)


def _too_large(limit: int) -> bytes:
    return msgspec.json.encode(
        {
            "error": "body_too_large",
            "detail": f"The request body is above the {limit}-byte limit; send fewer readings "
            "per request.",
        }
    )


class BodySizeLimit:
    """ASGI middleware: 413 for a body above ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def _refuse(self, send: Send) -> None:
        body = _too_large(self.limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None:
            if declared > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read it here, at most ``limit`` bytes, then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class Snapshot:
    """A value shared for ``max_age_s``: concurrent readers wait for one refresh, not one each
    (single flight), so N clients polling cost one backend read per interval."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_age, self._clock = max_age_s, clock
        self._value: bytes | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self, refresh: Callable[[], bytes]) -> bytes:
        if self._max_age <= 0:
            return refresh()
        value = self._value
        if value is not None and self._clock() - self._at < self._max_age:
            return value
        with self._lock:
            if self._value is not None and self._clock() - self._at < self._max_age:
                return self._value
            value = refresh()
            self._value, self._at = value, self._clock()
            return value
