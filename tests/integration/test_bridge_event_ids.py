"""One event id is one archived row: re-sends against a real bridge and PostgreSQL.

A re-send with the same timestamp is a silent no-op; one with another timestamp goes to the DLQ
as ``conflicting_duplicate`` (in the same batch, in another day's partition, after a restart);
within a batch the first copy by (partition, offset) is the one archived.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.batch_support import Row, insert_readings
from tests.integration.test_bridge import (
    Bridge,
    caught_up,
    count,
    dlq_records,
    produce,
    query,
    reading,
    start,
)

from helpers import seeded_random, wait_until
from logistream.batch.archive import Archive
from logistream.batch.cli import bridge_conninfo
from logistream.batch.records import Consumed, Rejection, sort_batch
from logistream.config import Settings
from logistream.events import derive_event_id
from logistream.schema.migrate import apply_migrations, migrate, shipped_migrations

DAY = 86_400.0


@pytest.fixture
def bridges() -> Iterator[list[Bridge]]:
    started: list[Bridge] = []
    yield started
    for bridge in started:
        if bridge.proc.poll() is None:
            bridge.kill()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="microseconds")


def _archived(settings: Settings, event_id: str) -> list[tuple[Any, ...]]:
    return query(
        settings,
        "SELECT extract(epoch FROM event_time)::float8, temp FROM readings WHERE event_id = %s",
        [event_id],
    )


def _conflicts(settings: Settings) -> dict[bytes, str]:
    rows = query(
        settings,
        "SELECT raw, detail FROM rejected_readings WHERE reason = 'conflicting_duplicate'",
    )
    return {bytes(raw): str(detail) for raw, detail in rows}


def _run_to_the_end(bridges: list[Bridge], env: dict[str, str], tmp: Path, s: Settings) -> None:
    bridge = start(bridges, env, tmp)
    wait_until(lambda: caught_up(s), timeout=90, what="offsets stored")
    assert bridge.stop() == 0, bridge.text()


def test_a_resent_event_id_with_another_timestamp_goes_to_the_dlq_and_is_archived_once(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    now = time.time()
    # Whole seconds, so the archived time compares exactly; three days back leaves room for
    # re-sends on other days, none in the future.
    t0 = float(int(now - 3 * DAY))
    event_id = str(uuid.uuid4())
    first = reading("KDU-1", t0, event_id=event_id, temp=4.0)
    same_day = reading("KDU-1", t0 + 60, event_id=event_id, temp=5.0)
    other_day = reading("KDU-1", t0 - 2 * DAY, event_id=event_id, temp=6.0)
    # One partition (one key), in this order: the first copy, an exact re-send (a producer
    # retry: no-op), then two conflicting ones, the second in another day's partition.
    acked = produce(
        settings,
        [(b"KDU-1", v) for v in (first, first, same_day, other_day)]
        + [(b"KDU-1", reading("KDU-1", t0 + 120))],
    )
    _run_to_the_end(bridges, settings_env, tmp_path, settings)

    assert _archived(settings, event_id) == [(t0, 4.0)]
    assert query(settings, "SELECT count(*), count(DISTINCT event_id) FROM truck_history") == [
        (2, 2)
    ]
    conflicts = _conflicts(settings)
    assert set(conflicts) == {same_day, other_day}
    for raw, resent in ((same_day, t0 + 60), (other_day, t0 - 2 * DAY)):
        assert _iso(t0) in conflicts[raw], conflicts[raw]
        assert _iso(resent) in conflicts[raw], conflicts[raw]
    heartbeat = query(
        settings, "SELECT sum(total_messages), sum(total_rejected) FROM bridge_heartbeat"
    )
    assert heartbeat == [(acked, 2)]
    dlq = dlq_records(settings, 2)
    assert {m.value() for m in dlq} == {same_day, other_day}
    for msg in dlq:
        headers = {k: v.decode() for k, v in msg.headers()}
        assert headers["reason"] == "conflicting_duplicate"
        assert headers["message"] == conflicts[msg.value()]

    # After a restart the archive alone remembers the id: a re-send on yet another day is
    # refused, an exact one is still a no-op.
    later = reading("KDU-1", t0 + DAY, event_id=event_id, temp=7.0)
    produce(settings, [(b"KDU-1", later), (b"KDU-1", first)])
    _run_to_the_end(bridges, settings_env, tmp_path, settings)

    assert _archived(settings, event_id) == [(t0, 4.0)]
    assert count(settings) == 2
    assert set(_conflicts(settings)) == {same_day, other_day, later}
    assert _iso(t0 + DAY) in _conflicts(settings)[later]
    assert sorted(m.value() for m in dlq_records(settings, 3)) == sorted(
        [same_day, other_day, later]
    )


def test_within_a_batch_the_first_copy_by_offset_is_archived(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    rng = seeded_random("first-copy-wins")
    now = time.time()
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(200)]
    # Same id, same time, another payload: the second copy must never replace the first.
    copies = [
        [reading("KFC-1", now - 1000 + i, event_id=e, copy=n) for n in ("first", "second")]
        for i, e in enumerate(ids)
    ]
    # Interleave: every first copy before its second one, otherwise in a seeded random order.
    order: list[bytes] = []
    waiting = list(range(len(ids)))
    sent_first: list[int] = []
    while waiting or sent_first:
        if waiting and (not sent_first or rng.random() < 0.5):
            i = waiting.pop(rng.randrange(len(waiting)))
            order.append(copies[i][0])
            sent_first.append(i)
        else:
            order.append(copies[sent_first.pop(rng.randrange(len(sent_first)))][1])
    produce(settings, [(b"KFC-1", v) for v in order])
    _run_to_the_end(bridges, settings_env, tmp_path, settings)

    rows = query(settings, "SELECT event_id, extras->>'copy' FROM readings")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1] for r in rows} == {"first"}
    assert count(settings, "rejected_readings") == 0
    assert dlq_records(settings, 0) == []


def test_one_archive_write_keeps_the_first_copy_and_refuses_the_conflicts_before_commit(
    settings: Settings,
) -> None:
    """The same rules for one batch written straight through :class:`Archive` (no Kafka): the
    batch is certainly one transaction, and the DLQ hand-off happens before it commits."""
    assert settings.database_url
    assert settings.bridge_db_password
    migrate(settings, settings.database_url)
    rng = seeded_random("archive-write")
    now = time.time()
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(300)]
    messages: list[Consumed] = []
    expected_refused: set[int] = set()
    for i, event_id in enumerate(ids):
        for n in range(3):
            # Copy 0 first; copy 1 the same time (no-op); copy 2 an hour later (a conflict).
            offset = i * 3 + n
            ts = now - 5000 + i + (3600 if n == 2 else 0) - 7200
            body = {"truck_id": "KAW-1", "temp": 4.0 + n, "timestamp": ts, "event_id": event_id}
            messages.append(
                Consumed("tel", 0, offset, b"KAW-1", json.dumps(body).encode(), int(now * 1000))
            )
            if n == 2:
                expected_refused.add(offset)
    rng.shuffle(messages)  # the staging order must not matter, only (partition, offset)
    batch = sort_batch(
        messages, telemetry_topic="tel", alerts_topic="alerts", max_bytes=65_536,
        future_tolerance_s=300.0, now_ms=int(now * 1000),
    )  # fmt: skip
    archive = Archive(
        bridge_conninfo(settings.database_url, settings.bridge_db_password), "g", "test"
    )
    handed: list[tuple[int, int]] = []

    def dead_letters(refused: Any) -> None:
        # Not committed yet: the batch's offsets are not visible to another session.
        assert query(settings, "SELECT count(*) FROM kafka_offsets") == [(0,)]
        handed.extend((r.message.offset, len(query(settings, "SELECT 1 FROM readings")))
                      for r in refused)  # fmt: skip

    try:
        archive.ensure_partitions(batch.days, today=int(now // DAY))
        result = archive.write(batch, lag_messages=None, now_s=now, dead_letters=dead_letters)
    finally:
        archive.close()
    assert result.inserted == len(ids)
    assert {r.message.offset for r in result.conflicts} == expected_refused
    assert all(isinstance(r, Rejection) and r.reason == "conflicting_duplicate"
               for r in result.conflicts)  # fmt: skip
    assert sorted(o for o, _ in handed) == sorted(expected_refused)
    assert {seen for _, seen in handed} == {0}, "handed to the DLQ before the rows committed"
    assert query(settings, "SELECT DISTINCT temp FROM readings") == [(4.0,)]
    assert query(settings, "SELECT count(*) FROM rejected_readings") == [(len(ids),)]


def test_the_migration_registers_what_an_older_archive_holds(settings: Settings) -> None:
    """An archive written before ``reading_ids`` existed, duplicate ids and all, is registered
    by the migration, and the bridge role may only add to the registry."""
    assert settings.database_url
    assert settings.bridge_db_password
    url = settings.database_url
    shipped = shipped_migrations()
    with psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn, [m for m in shipped if m.name != "event_ids"])
    t0 = float(int(time.time() - DAY))
    # The old defect: "a" twice with two times (offsets 0 and 2); the first archived is kept.
    insert_readings(url, [Row(t0, "KMG-1", 4.0, event_id="a"), Row(t0 + 5, "KMG-1", 4.1,
                          event_id="b"), Row(t0 + 9, "KMG-1", 4.2, event_id="a")])  # fmt: skip
    assert [m.name for m in migrate(settings, url)] == ["event_ids"]  # and sets passwords
    registered = query(
        settings,
        "SELECT event_id, extract(epoch FROM event_time)::float8 FROM reading_ids ORDER BY 1",
    )
    assert registered == [("a", t0), ("b", t0 + 5)]

    as_bridge = bridge_conninfo(url, settings.bridge_db_password)
    with psycopg.connect(as_bridge, autocommit=True) as conn:
        for statement in ("UPDATE reading_ids SET event_time = now()", "DELETE FROM reading_ids",
                          "TRUNCATE reading_ids"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())


def test_two_probes_at_the_same_second_are_two_readings_and_a_resend_is_one(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    t0 = float(int(time.time() - 60))
    front = reading("KDU-2", t0, probe_id="front", temp=3.0)
    rear = reading("KDU-2", t0, probe_id="rear", temp=9.5)
    single = reading("KDU-3", t0, temp=4.0)  # no probe: the id it always had
    produce(settings, [(b"KDU-2", v) for v in (front, rear, front, rear)] + [(b"KDU-3", single)])
    _run_to_the_end(bridges, settings_env, tmp_path, settings)

    rows = query(
        settings,
        "SELECT truck_id, probe_id, temp, event_id FROM truck_history ORDER BY truck_id, probe_id",
    )
    assert [r[:3] for r in rows] == [
        ("KDU-2", "front", 3.0),
        ("KDU-2", "rear", 9.5),
        ("KDU-3", None, 4.0),
    ]
    assert rows[0][3] == derive_event_id("KDU-2", t0, "front")
    assert rows[2][3] == derive_event_id("KDU-3", t0)
