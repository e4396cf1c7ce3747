"""``RedisLiveFeed``: the live stream's waits on Redis (XREAD with block on the change stream:
it returns the moment the speed layer appends a change, with no polling)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logistream.live_views import redis_layout as k
from logistream.live_views.records import AlertChange
from logistream.live_views.redis_reads import decode_changes

if TYPE_CHECKING:
    import redis.asyncio


class RedisLiveFeed:
    """:class:`~logistream.live_views.LiveFeed` over an asyncio Redis client (its socket
    timeout must exceed the longest wait)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client

    async def last_seq(self) -> int:
        last: Any = await self.client.xrevrange(k.ALERT_CHANGES, count=1)
        return k.seq_of(last[0][0]) if last else 0

    async def changes_after(
        self, seq: int, *, wait_s: float, count: int = 500
    ) -> list[AlertChange]:
        block_ms = max(1, int(1000 * wait_s))
        reply: Any = await self.client.xread(
            {k.ALERT_CHANGES: k.entry_id(seq)}, count=count, block=block_ms
        )
        # RESP2 answers a list of (stream, entries), RESP3 a mapping.
        changes: list[AlertChange] = []
        for _stream, entries in reply.items() if isinstance(reply, dict) else reply or []:
            changes += decode_changes(entries)
        return changes

    async def truck_times(self) -> list[tuple[str, float]]:
        pairs: list[Any] = await self.client.zrange(k.TRUCKS, 0, -1, withscores=True)
        return [(k.text(t), float(s)) for t, s in pairs]

    async def shipment_times(self) -> list[tuple[str, float]]:
        pairs: list[Any] = await self.client.zrange(k.SHIPMENTS, 0, -1, withscores=True)
        return [(k.text(t), float(s)) for t, s in pairs]
