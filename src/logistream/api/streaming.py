"""The live stream: alert changes (Redis stream ``ls:alerts:changes``, XREAD with block) and
truck updates (trucks whose latest reading changed), as Server-Sent Events.

Alerts arrive as soon as the speed layer writes them: XREAD returns the moment an entry is
added. Truck updates are looked for every ``scan_s`` (one ZRANGE over ``ls:trucks``, then the
changed trucks' views), since the speed layer writes no stream of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

import msgspec

from logistream import live_views
from logistream.events import Alert
from logistream.live_views import TruckView

if TYPE_CHECKING:
    import redis.asyncio

_alert_decoder: Final = msgspec.json.Decoder(Alert)
_STREAM_ID: Final = r"^(\$|0|\d{1,20}-\d{1,20}|\d{1,20})$"
STREAM_ID_PATTERN: Final = _STREAM_ID


def sse(data: bytes, event: str | None = None, event_id: str | None = None) -> bytes:
    """One Server-Sent Event (data is one JSON line, so no line splitting is needed)."""
    head = b""
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def changed_trucks(seen: dict[str, float], current: list[tuple[str, float]]) -> list[str]:
    """Trucks whose latest event time differs from the one last sent (updates ``seen``)."""
    changed = [t for t, score in current if seen.get(t) != score]
    seen.clear()
    seen.update(current)
    return changed


async def _start_id(client: redis.asyncio.Redis, since: str) -> str:
    """``$`` resolved to the stream's last id now, so nothing added between reads is lost."""
    if since != "$":
        return since
    last: Any = await client.xrevrange(live_views.ALERT_CHANGES, count=1)
    return _text(last[0][0]) if last else "0-0"


async def _truck_scores(client: redis.asyncio.Redis) -> list[tuple[str, float]]:
    pairs: list[Any] = await client.zrange(live_views.TRUCKS, 0, -1, withscores=True)
    return [(_text(t), float(s)) for t, s in pairs]


async def events(
    client: redis.asyncio.Redis,
    *,
    since: str = "$",
    truck: str | None = None,
    trucks: bool = True,
    scan_s: float = 1.0,
    keepalive_s: float = 15.0,
    read_truck: Callable[[str], TruckView | None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[bytes]:
    """SSE bytes forever: ``alert`` events (id = stream id, for Last-Event-ID resume) and
    ``truck`` events (the truck's view, as GET /v1/trucks/{id}, read by ``read_truck``)."""
    from logistream.api.routes.common import truck_dict

    last_id = await _start_id(client, since)
    seen: dict[str, float] = {}
    if trucks:
        changed_trucks(seen, await _truck_scores(client))
    yield b"retry: 2000\n: connected; alert changes and truck updates follow\n\n"
    next_scan = clock() + scan_s
    last_sent = clock()
    while True:
        wait_s = max(0.0, next_scan - clock()) if trucks else keepalive_s
        block_ms = max(1, int(1000 * min(keepalive_s, wait_s)))
        reply: Any = await client.xread(
            {live_views.ALERT_CHANGES: last_id}, count=500, block=block_ms
        )
        # RESP2 answers a list of (stream, entries), RESP3 a mapping.
        for _stream, entries in reply.items() if isinstance(reply, dict) else reply or []:
            for entry_id, fields in entries:
                last_id = _text(entry_id)
                raw = fields.get(b"alert", fields.get("alert"))
                if raw is None:
                    continue
                raw = raw if isinstance(raw, bytes) else str(raw).encode()
                if truck is not None and _alert_decoder.decode(raw).truck_id != truck:
                    continue
                yield sse(raw, "alert", last_id)
                last_sent = clock()
        if trucks and clock() >= next_scan:
            next_scan = clock() + scan_s
            current = await _truck_scores(client)
            if truck is not None:
                current = [(t, s) for t, s in current if t == truck]
            for truck_id in changed_trucks(seen, current):
                view = await asyncio.to_thread(read_truck, truck_id) if read_truck else None
                if view is not None:
                    yield sse(msgspec.json.encode(truck_dict(view)), "truck")
                    last_sent = clock()
        if clock() - last_sent >= keepalive_s:
            yield b": keepalive\n\n"
            last_sent = clock()
