"""The data bridge against real Kafka and PostgreSQL: a real `logistream bridge` process."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition
from psycopg.conninfo import make_conninfo

from helpers import seeded_random, wait_until
from logistream.config import Settings
from logistream.kafka import make_producer

ORIGINAL = b'{"truck_id": "TRUCK-001", "temp": 9.1, "fuel": 80, "timestamp": 1767225600.0}'
INJECTION = "x'); DROP TABLE truck_history;--"


# -- helpers ------------------------------------------------------------------------------------


class Bridge:
    """A real `logistream bridge` subprocess with its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("logistream")), "bridge", *args],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self._out.close()


@pytest.fixture
def bridges(settings_env: dict[str, str], tmp_path: Path) -> Iterator[list[Bridge]]:
    started: list[Bridge] = []
    yield started
    for bridge in started:
        if bridge.proc.poll() is None:
            bridge.kill()


def start(started: list[Bridge], env: dict[str, str], tmp_path: Path, *args: str) -> Bridge:
    bridge = Bridge(env, tmp_path / f"bridge-{len(started)}.log", *args)
    started.append(bridge)
    return bridge


def produce(settings: Settings, records: list[tuple[bytes | None, bytes]], topic: str = "") -> int:
    """Produce (key, value) records in order; returns how many the broker acknowledged."""
    producer = make_producer(settings, **{"message.max.bytes": 2_000_000})
    acked = 0

    def report(error: Any, _msg: Any) -> None:
        nonlocal acked
        assert error is None, error
        acked += 1

    for key, value in records:
        while True:
            try:
                producer.produce(
                    topic or settings.topic_telemetry, value=value, key=key, on_delivery=report
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0
    return acked


def reading(truck: str, ts: float, **extra: Any) -> bytes:
    body = {"truck_id": truck, "temp": 4.0, "fuel": 50.0, "timestamp": ts, **extra}
    return json.dumps(body).encode()


def owner(settings: Settings) -> psycopg.Connection[tuple[Any, ...]]:
    assert settings.database_url
    return psycopg.connect(settings.database_url, autocommit=True)


def query(settings: Settings, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with owner(settings) as conn:
        try:
            return conn.execute(sql.encode(), params).fetchall()
        except psycopg.errors.UndefinedTable:  # before the bridge migrated
            return []


def count(settings: Settings, table: str = "readings") -> int:
    rows = query(settings, f"SELECT count(*) FROM {table}")
    return int(rows[0][0]) if rows else 0


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"probe-{uuid.uuid4()}"}
    )
    try:
        meta = consumer.list_topics(topic, timeout=30)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in meta.topics[topic].partitions
        }
    finally:
        consumer.close()


def stored_offsets(settings: Settings, topic: str, group: str | None = None) -> dict[int, int]:
    rows = query(
        settings,
        "SELECT partition, next_offset FROM kafka_offsets WHERE consumer_group = %s AND topic = %s",
        [group or settings.bridge_group, topic],
    )
    return {int(p): int(n) for p, n in rows}


def caught_up(settings: Settings, group: str | None = None) -> bool:
    """Every non-empty telemetry partition's stored offset is at the topic's end."""
    ends = {p: n for p, n in end_offsets(settings, settings.topic_telemetry).items() if n > 0}
    stored = stored_offsets(settings, settings.topic_telemetry, group)
    return all(stored.get(p) == n for p, n in ends.items())


def dlq_records(settings: Settings, expected: int, timeout: float = 60.0) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"dlq-probe-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic_dlq])
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                found.append(msg)
        # Anything beyond the expected count would be a wrongly rejected good reading.
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(msg)
    finally:
        consumer.close()
    return found


# -- tests --------------------------------------------------------------------------------------


def test_readings_archived_end_to_end(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    rng = seeded_random("end-to-end")
    now = time.time()
    records: list[tuple[bytes | None, bytes]] = []
    for i in range(600):
        truck = f"KCB-{rng.randrange(10):03d}"
        records.append((truck.encode(), reading(truck, now - 600 + i, seq=i)))
    records.append((None, ORIGINAL))  # the original LogiStream producer sends no key
    records.append((None, reading(INJECTION, now, lat=-1.29, lon=36.82)))
    records.append((None, reading("KCB-EXTRA", now, reefer_model="Thermo King T-600R")))
    acked = produce(settings, records)

    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: count(settings) == acked, timeout=90, what="readings archived")
    wait_until(lambda: caught_up(settings), timeout=30, what="offsets stored")
    assert bridge.stop() == 0, bridge.text()

    with owner(settings) as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM truck_history"
        ).fetchone() == (acked, acked)
        fuel = dict(conn.execute("SELECT truck_id, AVG(fuel) FROM truck_history GROUP BY truck_id"))
        assert fuel["TRUCK-001"] == 80.0
        original = conn.execute(
            "SELECT temp, fuel, extract(epoch FROM timestamp) FROM truck_history "
            "WHERE truck_id = 'TRUCK-001'"
        ).fetchall()
        assert original == [(9.1, 80.0, 1767225600)]
        injected = conn.execute(
            "SELECT truck_id, lat, lon FROM truck_history WHERE truck_id = %s", [INJECTION]
        ).fetchall()
        assert injected == [(INJECTION, -1.29, 36.82)]
        extras = conn.execute("SELECT extras FROM readings WHERE truck_id = 'KCB-EXTRA'").fetchone()
        assert extras == ({"reefer_model": "Thermo King T-600R"},)
        heartbeat = conn.execute(
            "SELECT total_messages, total_rejected, lag_messages FROM bridge_heartbeat "
            "WHERE consumer_group = %s",
            [settings.bridge_group],
        ).fetchall()
        assert sum(r[0] for r in heartbeat) == acked
        assert sum(r[1] for r in heartbeat) == 0
        assert count(settings, "rejected_readings") == 0


def test_every_malformed_kind_goes_to_the_dlq_and_the_next_good_reading_is_archived(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    now = time.time()
    bad: dict[str, tuple[bytes, str]] = {
        "truncated": (reading("KBX-1", now)[:25], "invalid_json"),
        "not_json": (b"\xff\xfe not json", "invalid_json"),
        "array": (b"[1, 2, 3]", "not_an_object"),
        "wrong_type": (reading("KBX-1", now, temp="hot"), "wrong_type"),
        "nan": (b'{"truck_id": "KBX-1", "temp": NaN, "timestamp": %d}' % now, "impossible_value"),
        "latitude_200": (reading("KBX-1", now, lat=200.0), "impossible_value"),
        "missing_truck": (json.dumps({"temp": 3.0, "timestamp": now}).encode(), "missing_field"),
        "future": (reading("KBX-1", now + 3600), "future_event"),
        "too_large": (reading("KBX-1", now, padding="x" * 70_000), "too_large"),
        "nul": (reading("KBX-1", now, driver_id="a\u0000b"), "impossible_value"),
        "huge_seq": (reading("KBX-1", now, seq=2**64 - 1), "impossible_value"),
    }
    records: list[tuple[bytes | None, bytes]] = []
    good_after: dict[str, bytes] = {}
    for i, (kind, (raw, _code)) in enumerate(bad.items()):
        good = reading("KBX-1", now - 100 + i, kind_after=kind)
        good_after[kind] = good
        # Same key: same partition, so the good reading comes right after the bad one.
        records += [(b"KBX-1", raw), (b"KBX-1", good)]
    acked = produce(settings, records)
    assert acked == 2 * len(bad)

    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: caught_up(settings), timeout=90, what="offsets stored")
    assert bridge.stop() == 0, bridge.text()

    # Accepted + rejected = consumed.
    assert count(settings) == len(bad)
    assert count(settings, "rejected_readings") == len(bad)
    archived = {r[0] for r in query(settings, "SELECT extras->>'kind_after' FROM readings")}
    assert archived == set(bad)

    rejected = {
        bytes(raw): (reason, detail, topic, offset)
        for raw, reason, detail, topic, offset in query(
            settings,
            "SELECT raw, reason, detail, source_topic, source_offset FROM rejected_readings",
        )
    }
    dlq = dlq_records(settings, len(bad))
    assert len(dlq) == len(bad), "one DLQ record per bad message, and no good one"
    by_value = {msg.value(): msg for msg in dlq}
    for kind, (raw, code) in bad.items():
        msg = by_value[raw]  # original bytes kept
        headers = {k: v.decode() for k, v in msg.headers()}
        assert headers["reason"] == code, kind
        assert len(headers["message"]) > 20, kind
        assert headers["source_topic"] == settings.topic_telemetry
        assert int(headers["source_offset"]) >= 0
        assert msg.key() == b"KBX-1"
        reason, detail, topic, offset = rejected[raw]
        assert (reason, topic, offset) == (code, settings.topic_telemetry,
                                           int(headers["source_offset"]))  # fmt: skip
        assert detail == headers["message"]


def test_readings_from_30_days_ago_and_today_in_one_batch(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    now = time.time()
    old = now - 30 * 86_400
    acked = produce(
        settings, [(b"KBZ-9", reading("KBZ-9", old)), (b"KBZ-9", reading("KBZ-9", now))]
    )
    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: count(settings) == acked, timeout=90, what="both readings archived")
    assert bridge.stop() == 0, bridge.text()
    # Both landed in the same batch (one offsets commit covers both).
    rows = query(
        settings,
        "SELECT tableoid::regclass::text, extract(epoch FROM event_time) FROM readings "
        "ORDER BY event_time",
    )
    assert [round(float(ts), 3) for _p, ts in rows] == [round(old, 3), round(now, 3)]
    assert rows[0][0] != rows[1][0], "each reading in its own day partition"
    assert all(name.startswith("readings_p") for name, _ in rows)


def test_duplicates_and_a_group_reset_add_no_rows(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    now = time.time()
    trucks = [f"KDA-{i % 7}" for i in range(300)]
    originals = [(t.encode(), reading(t, now - 1000 + i)) for i, t in enumerate(trucks)]
    given_id = str(uuid.uuid4())
    with_id = [
        (b"KDA-X", reading("KDA-X", now - 5, event_id=given_id)),
        # A retry that differs in a field but carries the same event id: the same reading.
        (b"KDA-X", reading("KDA-X", now - 5, event_id=given_id, temp=4.5)),
    ]
    # The same bytes again at later offsets (a producer retry/replay), keyless this time.
    acked = produce(settings, originals + with_id + [(None, v) for _k, v in originals])
    distinct = len(originals) + 1

    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: caught_up(settings), timeout=90, what="offsets stored")
    assert bridge.stop() == 0, bridge.text()
    assert count(settings) == distinct
    heartbeat_total = query(settings, "SELECT sum(total_messages) FROM bridge_heartbeat")[0][0]
    assert heartbeat_total == acked

    # Reset the group to the beginning: Kafka's committed offsets are not trusted, the stored
    # ones are the resume point, so a reset means rewinding those.
    with owner(settings) as conn:
        conn.execute("DELETE FROM kafka_offsets")
    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: caught_up(settings), timeout=90, what="replay done")
    assert bridge.stop() == 0, bridge.text()
    assert count(settings) == distinct

    # A brand new group replays everything from the start too.
    env = dict(settings_env, LOGISTREAM_BRIDGE_GROUP=f"{settings.bridge_group}.fresh")
    bridge = start(bridges, env, tmp_path)
    wait_until(
        lambda: caught_up(settings, f"{settings.bridge_group}.fresh"), timeout=90, what="replay"
    )
    assert bridge.stop() == 0, bridge.text()
    assert count(settings) == distinct
    assert query(settings, "SELECT count(DISTINCT event_id) FROM readings")[0][0] == distinct


def test_two_bridges_in_one_group_make_the_same_archive(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    rng = seeded_random("two-bridges")
    now = time.time()
    expected: set[str] = set()
    records: list[tuple[bytes | None, bytes]] = []
    for i in range(20_000):
        truck = f"KTB-{rng.randrange(40):03d}"
        event_id = str(uuid.UUID(int=rng.getrandbits(128)))
        expected.add(event_id)
        records.append((truck.encode(), reading(truck, now - 20_000 + i, event_id=event_id)))
    acked = produce(settings, records[:10_000])
    first = start(bridges, settings_env, tmp_path, "--batch-size", "500")
    second = start(bridges, settings_env, tmp_path, "--batch-size", "500")
    wait_until(
        lambda: "assigned" in first.text() and "assigned" in second.text(),
        timeout=60,
        what="both bridges hold partitions",
    )
    acked += produce(settings, records[10_000:])
    assert acked == len(records)
    wait_until(lambda: caught_up(settings), timeout=120, what="both bridges caught up")
    assert first.stop() == 0, first.text()
    assert second.stop() == 0, second.text()
    ids = {r[0] for r in query(settings, "SELECT event_id FROM readings")}
    assert ids == expected
    assert count(settings) == len(expected)


def test_a_fenced_static_bridge_joins_again_and_archives_exactly_once(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    """A broker bounce can leave a static member fenced (a fatal consumer error); the bridge
    must join the group again, not sit idle. Here a second member with the bridge's
    group.instance.id fences it on purpose."""
    now = time.time()
    first = [(b"KFN-001", reading("KFN-001", now - 4000 + i)) for i in range(2000)]
    second = [(b"KFN-002", reading("KFN-002", now - 2000 + i)) for i in range(2000)]
    produce(settings, first)
    bridge = start(bridges, settings_env, tmp_path, "--instance-id", "bridge-a")
    wait_until(lambda: count(settings) == len(first), timeout=90, what="first readings archived")

    impostor = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.bridge_group,
            "group.instance.id": "bridge-a",
            "enable.auto.commit": False,
            "partition.assignment.strategy": "cooperative-sticky",  # the group's protocol
        }
    )
    impostor.subscribe([settings.topic_telemetry])
    try:
        deadline = time.monotonic() + 60
        while "joining the group again" not in bridge.text() and time.monotonic() < deadline:
            impostor.poll(0.5)
    finally:
        impostor.close()
    assert "joining the group again" in bridge.text(), bridge.text()[-3000:]

    produce(settings, second)
    wait_until(lambda: caught_up(settings), timeout=120, what="the rejoined bridge caught up")
    assert bridge.proc.poll() is None, bridge.text()[-3000:]
    assert bridge.stop() == 0, bridge.text()[-3000:]
    rows = query(settings, "SELECT count(*), count(DISTINCT event_id) FROM readings")
    assert rows == [(len(first) + len(second), len(first) + len(second))]


def test_the_bridge_role_cannot_update_or_delete_and_the_reader_only_reads(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    produce(settings, [(b"KRL-1", reading("KRL-1", time.time()))])
    bridge = start(bridges, settings_env, tmp_path)
    wait_until(lambda: count(settings) == 1, timeout=90, what="reading archived")
    assert bridge.stop() == 0, bridge.text()
    assert settings.database_url
    assert settings.bridge_db_password
    assert settings.reader_db_password

    as_bridge = make_conninfo(
        settings.database_url, user="logistream_bridge", password=settings.bridge_db_password
    )
    with psycopg.connect(as_bridge, autocommit=True) as conn:
        for statement in (
            "UPDATE readings SET temp = 99",
            "DELETE FROM readings",
            "TRUNCATE readings",
            "UPDATE rejected_readings SET reason = 'x'",
            "DELETE FROM alert_changes",
            "DROP TABLE readings",
            "CREATE TABLE readings_p20990101 PARTITION OF readings "
            "FOR VALUES FROM ('2099-01-01') TO ('2099-01-02')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())
        # What it may do: add a reading, and get a late day's partition through the function.
        conn.execute("SELECT ensure_reading_partition(current_date - 400)")
        conn.execute(
            "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition, "
            "source_offset) VALUES ('manual-1', now() - interval '400 days', 'KRL-2', 3, 0, 0)"
        )
    assert count(settings) == 2

    as_reader = make_conninfo(
        settings.database_url, user="logistream_reader", password=settings.reader_db_password
    )
    with psycopg.connect(as_reader, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM truck_history").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM bridge_heartbeat").fetchone() is not None
        for statement in (
            "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition, "
            "source_offset) VALUES ('r', now(), 'r', 1, 0, 0)",
            "DELETE FROM readings",
            "SELECT ensure_reading_partition(current_date)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement.encode())


def test_alert_changes_are_archived_once(
    settings: Settings, settings_env: dict[str, str], bridges: list[Bridge], tmp_path: Path
) -> None:
    now = time.time()
    opened = {
        "alert_id": "a-1", "truck_id": "KAL-1", "rule": "temp_high", "severity": "major",
        "state": "open", "opened_at": now - 60, "changed_at": now - 60, "value": 9.1,
        "threshold": 7.0, "lat": -1.3, "lon": 36.8, "message": "Cargo at 9.1 °C, above 7.0 °C",
    }  # fmt: skip
    resolved = dict(opened, state="resolved", changed_at=now, resolved_at=now)
    values = [json.dumps(opened).encode(), json.dumps(resolved).encode()]
    produce(settings, [(b"KAL-1", v) for v in values + values], topic=settings.topic_alerts)
    produce(settings, [(b"KAL-1", b'{"alert_id": "a-2"}')], topic=settings.topic_alerts)
    bridge = start(bridges, settings_env, tmp_path)
    wait_until(
        lambda: count(settings, "alert_changes") == 2 and count(settings, "rejected_readings"),
        timeout=90,
        what="alert changes archived",
    )
    assert bridge.stop() == 0, bridge.text()
    rows = query(
        settings,
        "SELECT state, rule, payload->>'message' FROM alert_changes ORDER BY changed_at",
    )
    assert rows == [("open", "temp_high", opened["message"]), ("resolved", "temp_high",
                                                               opened["message"])]  # fmt: skip
    assert query(settings, "SELECT source_topic, reason FROM rejected_readings") == [
        (settings.topic_alerts, "missing_field")
    ]
    assert not math.isnan(float(query(settings, "SELECT sum(value) FROM alert_changes")[0][0]))
