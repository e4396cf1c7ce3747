"""The live views over a real Redis: the speed layer's writer numbers each alert change, the
readers see the states, and the numbers keep increasing after the store is flushed and rebuilt;
the live stream's feed waits for a change and wakes when one is written."""

from __future__ import annotations

import asyncio
import time

import redis
import redis.asyncio

from logistream.config import Settings
from logistream.events import Alert, Reading
from logistream.live_views import (
    AlertSummary,
    RedisLiveFeed,
    RedisLiveViews,
    RedisLiveViewsWriter,
    TruckLatest,
)

NOW = 1_767_225_600.0


def _alert(alert_id: str, state: str, at: float) -> Alert:
    return Alert(
        alert_id=alert_id,
        truck_id="KBX 001A",
        rule="temp_high",
        severity="major",
        state=state,  # type: ignore[arg-type]
        opened_at=NOW,
        changed_at=at,
        message="Cargo at 9.1 °C, above 8 °C",
    )


def _truck(status: str, alerts: tuple[AlertSummary, ...] = ()) -> TruckLatest:
    reading = Reading(truck_id="KBX 001A", temp=9.1, timestamp=NOW, lat=-1.29, lon=36.82)
    return TruckLatest(truck_id="KBX 001A", reading=reading, status=status, alerts=alerts)


def test_alert_changes_are_numbered_in_order_and_read_back(client: redis.Redis) -> None:
    writer, views = RedisLiveViewsWriter(client), RedisLiveViews(client)
    summary = (AlertSummary("a1", "temp_high", "major", "open"),)
    before = time.time()
    writer.write_batch([_truck("major", summary)], {"KBX 001A": [(NOW, 9.1)]},
                       [_alert("a1", "open", NOW), _alert("a2", "open", NOW + 1)])  # fmt: skip
    writer.write_batch([], {}, [_alert("a1", "resolved", NOW + 2)])

    changes = views.alert_changes_after(0)
    assert [(c.alert.alert_id, c.alert.state) for c in changes] == [
        ("a1", "open"), ("a2", "open"), ("a1", "resolved"),
    ]  # fmt: skip
    seqs = [c.seq for c in changes]
    assert seqs == sorted(set(seqs))
    assert seqs[1] == seqs[0] + 1
    assert seqs[2] == seqs[1] + 1
    assert all(before - 1 <= c.written_at <= time.time() + 1 for c in changes)
    assert [c.alert.alert_id for c in views.alert_changes_after(seqs[0])] == ["a2", "a1"]
    assert views.alert_changes_after(seqs[2]) == []
    assert [c.seq for c in views.recent_alert_changes(2)] == [seqs[2], seqs[1]]

    assert [a.alert_id for a in views.open_alerts()] == ["a2"]
    resolved = views.alert("a1")
    assert resolved is not None
    assert resolved.state == "resolved"
    truck = views.truck("KBX 001A")
    assert truck is not None
    assert (truck.status, truck.alerts) == ("major", summary)
    assert views.truck_ids() == ["KBX 001A"]
    assert views.temperature_history("KBX 001A") == [(NOW, 9.1)]
    # Positions are in the truck's reading; no separate key is written for them.
    assert not client.exists("ls:positions")


def test_numbers_keep_increasing_after_the_store_is_flushed(client: redis.Redis) -> None:
    writer, views = RedisLiveViewsWriter(client), RedisLiveViews(client)
    for i in range(3):
        writer.write_batch([], {}, [_alert(f"b{i}", "open", NOW + i)])
    last_before = views.alert_changes_after(0)[-1].seq
    client.flushdb()
    # A client that resumes with a number from before the flush gets what is written after it.
    writer.write_batch([], {}, [_alert("c0", "open", NOW + 10)])
    after = views.alert_changes_after(last_before)
    assert [c.alert.alert_id for c in after] == ["c0"]
    assert after[0].seq > last_before


def test_the_feed_wakes_when_a_change_is_written(settings: Settings, client: redis.Redis) -> None:
    assert settings.redis_url
    writer = RedisLiveViewsWriter(client)
    writer.write_batch([_truck("ok")], {}, [_alert("d0", "open", NOW)])

    async def run() -> tuple[int, list[str], float, list[tuple[str, float]]]:
        aclient = redis.asyncio.Redis.from_url(settings.redis_url or "", socket_timeout=30)
        feed = RedisLiveFeed(aclient)
        try:
            last = await feed.last_seq()
            # Written from another thread 0.3 s into a wait of up to 10 s.
            loop = asyncio.get_running_loop()
            loop.call_later(
                0.3,
                lambda: loop.run_in_executor(
                    None, writer.write_batch, [], {}, [_alert("d1", "open", NOW + 1)]
                ),
            )
            began = time.monotonic()
            got = await feed.changes_after(last, wait_s=10.0)
            waited = time.monotonic() - began
            return last, [c.alert.alert_id for c in got], waited, await feed.truck_times()
        finally:
            await aclient.aclose()

    last, got, waited, trucks = asyncio.run(run())
    assert last == RedisLiveViews(client).alert_changes_after(0)[0].seq
    assert got == ["d1"]
    assert 0.2 <= waited < 5.0
    assert trucks == [("KBX 001A", NOW)]
