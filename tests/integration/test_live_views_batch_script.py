"""The speed layer's batch write runs as one server-side script (``WRITE_TRUCKS_LUA``): on a real
Redis it leaves exactly what one command per truck and per history left before (the rebuild path,
``rewrite``, still writes those commands), trims the histories, takes a batch larger than one
Lua ``unpack``, and loads itself again when the server lost its scripts."""

from __future__ import annotations

import redis

from logistream.events import Reading
from logistream.live_views import (
    AlertSummary,
    ModeLive,
    ProbeLatest,
    RedisLiveViewsWriter,
    TruckLatest,
)
from logistream.live_views import redis_layout as k

NOW = 1_767_225_600.0


def _trucks() -> list[TruckLatest]:
    """Three trucks: one plain, one with an open alert and a mode, one with two probes."""
    plain = Reading(truck_id="KBA 100A", temp=4.25, timestamp=NOW, lat=-1.29, lon=36.82)
    alarmed = Reading(truck_id="KBB 200B", temp=9.1, timestamp=NOW + 1, fuel=55.5, door_open=True)
    probed = Reading(truck_id="KBC 300C", temp=3.0, timestamp=NOW + 2, probe_id="rear")
    mode = ModeLive(
        mode_id="m-1",
        kind="precool",
        reason="loading at Naivasha, 2–8 °C",  # non-ASCII travels as UTF-8
        starts_at=NOW - 600,
        ends_at=NOW + 600,
        set_by="dispatcher",
    )
    return [
        TruckLatest(truck_id="KBA 100A", reading=plain, status="ok", alerts=()),
        TruckLatest(
            truck_id="KBB 200B",
            reading=alarmed,
            status="major",
            alerts=(AlertSummary("a-1", "temp_high", "major", "open"),),
            mode=mode,
        ),
        TruckLatest(
            truck_id="KBC 300C",
            reading=probed,
            status="ok",
            alerts=(),
            probes=(ProbeLatest("front", 2.5, NOW + 1), ProbeLatest("rear", 3.0, NOW + 2)),
        ),
    ]


def _history() -> dict[str | tuple[str, str | None], list[tuple[float, float]]]:
    return {
        ("KBA 100A", None): [(NOW - 60.0 * i, 4.0 + i / 10) for i in range(5)],
        ("KBC 300C", "rear"): [(NOW + 2, 3.0)],
        ("KBC 300C", "front"): [(NOW + 1, 2.5), (NOW - 59, 2.25)],
    }


def _snapshot(client: redis.Redis) -> dict[str, object]:
    """Every key the writes touch, as Redis holds it (``updated_at`` left out: wall clock)."""
    seen: dict[str, object] = {}
    for key in sorted(client.scan_iter("ls:*")):
        name = key.decode()
        kind = client.type(key).decode()
        if kind == "hash":
            fields = client.hgetall(key)
            fields.pop(b"updated_at", None)
            seen[name] = fields
        elif kind == "zset":
            seen[name] = client.zrange(key, 0, -1, withscores=True)
        else:
            seen[name] = kind
    return seen


def test_the_batch_script_writes_what_one_command_per_truck_wrote(
    client: redis.Redis,
) -> None:
    client.flushdb()
    history = _history()
    RedisLiveViewsWriter(client).write_batch(_trucks(), history, [])
    by_script = _snapshot(client)

    client.flushdb()
    # The rebuild writes the same trucks and histories with one command each (no trim needed
    # here: every history is shorter than its cap), plus the partition marks it keeps.
    RedisLiveViewsWriter(client).rewrite(_trucks(), history, [], partitions=[])
    by_commands = _snapshot(client)

    assert by_script == by_commands
    assert set(by_script) == {
        "ls:trucks",
        "ls:truck:KBA 100A",
        "ls:truck:KBB 200B",
        "ls:truck:KBC 300C",
        "ls:temp:KBA 100A",
        "ls:ptemp:KBC 300C@rear",
        "ls:ptemp:KBC 300C@front",
    }
    hashes = {name: value for name, value in by_script.items() if name.startswith("ls:truck:")}
    assert all(b"updated_at" not in v for v in hashes.values())  # left out above, written
    assert client.hget("ls:truck:KBA 100A", "updated_at") is not None


def test_a_history_longer_than_one_unpack_is_written_and_trimmed(client: redis.Redis) -> None:
    client.flushdb()
    truck = _trucks()[0]
    points = [(NOW + i, 4.0 + (i % 7) / 10) for i in range(2_500)]  # 5,000 score/member items
    RedisLiveViewsWriter(client).write_batch([truck], {("KBA 100A", None): points}, [])

    kept = client.zrange("ls:temp:KBA 100A", 0, -1, withscores=True)
    newest = points[-k.TEMP_HISTORY_LEN :]
    assert kept == [(f"{ts!r}:{temp!r}".encode(), ts) for ts, temp in newest]


def test_the_script_is_loaded_again_after_the_server_lost_it(client: redis.Redis) -> None:
    client.flushdb()
    writer = RedisLiveViewsWriter(client)
    writer.write_batch(_trucks()[:1], {}, [])
    client.script_flush()  # as a restarted Redis: no scripts

    moved = Reading(truck_id="KBA 100A", temp=5.5, timestamp=NOW + 30)
    again = TruckLatest(truck_id="KBA 100A", reading=moved, status="ok", alerts=())
    writer.write_batch([again], {("KBA 100A", None): [(NOW + 30, 5.5)]}, [])

    assert client.hget("ls:truck:KBA 100A", "event_time") == repr(NOW + 30).encode()
    assert client.zscore("ls:trucks", "KBA 100A") == NOW + 30
    assert client.zrange("ls:temp:KBA 100A", 0, -1) == [f"{NOW + 30!r}:5.5".encode()]
