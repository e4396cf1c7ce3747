"""Operating modes on a real PostgreSQL and the compacted ``truck_modes`` topic on a real Kafka:
a mode set is a row and a record; on a truck with an active shipment it waits for a carrier
admin (not on the topic), the setter and a viewer are refused, an admin's approval publishes
it; ending it early puts ``ended_at`` on the topic; each change has its audit line; refusals
leave nothing stored; publish_pending heals an unpublished row; and the CLI end to end."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka.admin import ConfigResource

import logistream.shipments
from logistream.config import Settings
from logistream.errors import NotFound, Refused
from logistream.kafka import make_admin, make_consumer
from logistream.modes.publish import ModePublisher
from logistream.modes.store import ModeStore
from logistream.modes.wire import ModeRecord, decode_record
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import ShipmentStore, new_record

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
LOADED = SHIPMENT.truck_id  # carries the shipment in the tests that create it
FREE = next(t.truck_id for t in REGISTRY.trucks if t.truck_id != LOADED)


@pytest.fixture
def modes(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a truck_modes topic of its own, deleted afterwards."""
    own = settings.model_copy(update={"topic_truck_modes": f"truck_modes.{uuid.uuid4().hex[:10]}"})
    migrate(own, own.database_url or "")
    yield own
    make_admin(own).delete_topics([own.topic_truck_modes], operation_timeout=30)


@pytest.fixture
def conn(modes: Settings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(modes.database_url or "", autocommit=True) as connection:
        _users(connection)
        yield connection


def _users(conn: psycopg.Connection[Any]) -> None:
    """ann dispatches, boss and chief are carrier admins, vic a viewer, kem a shipper's admin."""
    if conn.execute("SELECT to_regclass('organisations')").fetchone() != (None,):
        conn.execute(
            "INSERT INTO organisations (id, name, kind) VALUES ('kemsa', 'KEMSA', 'shipper') "
            "ON CONFLICT DO NOTHING"
        )
    for name, role, org in (
        ("ann", "dispatcher", None),
        ("boss", "admin", None),
        ("chief", "admin", "carrier"),
        ("vic", "viewer", None),
        ("kem", "admin", "kemsa"),
    ):
        conn.execute(
            "INSERT INTO users (name, role, password_hash, organisation) "
            "VALUES (%s, %s, 'scrypt$test', %s)",
            (name, role, org),
        )


def _on_topic(settings: Settings, timeout_s: float = 30.0) -> dict[str, list[ModeRecord]]:
    """Every record per key on the truck_modes topic, in order, read from the beginning."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    topic = settings.topic_truck_modes
    consumer = make_consumer(settings, f"test-modes.{uuid.uuid4().hex}")
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in partitions}
        seen: dict[str, list[ModeRecord]] = {}
        done = {p: end == 0 for p, end in ends.items()}
        deadline = time.monotonic() + timeout_s
        while not all(done.values()) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            seen.setdefault(message.key().decode(), []).append(decode_record(message.value()))
            if message.offset() + 1 >= ends[message.partition()]:
                done[message.partition()] = True
        assert all(done.values()), "the truck_modes topic was not read to its end in time"
        return seen
    finally:
        consumer.close()


def _audit(conn: psycopg.Connection[Any], mode_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT action, actor, source, before IS NULL, after ->> 'status', reason "
        "FROM audit_log WHERE subject_kind = 'mode' AND subject_id = %s ORDER BY seq",
        (mode_id,),
    ).fetchall()


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM truck_modes").fetchone()
    assert row is not None
    return int(row[0])


def test_set_is_a_row_and_a_record_on_a_compacted_topic_and_end_puts_ended_at_there(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ModeStore(conn, REGISTRY)
    ann = store.user("ann")
    ends = datetime.now(UTC) + timedelta(hours=4)
    mode = store.set(FREE, "washout", "  after a fish load ", ends, ann)
    assert (mode.status, mode.version, mode.reason) == ("active", 1, "after a fish load")
    publisher = ModePublisher(modes)
    try:
        sent = publisher.publish(conn, mode.mode_id)
        assert sent is not None
        assert publisher.publish(conn, mode.mode_id) is None  # nothing new to send
        (record,) = _on_topic(modes)[FREE]
        assert record == mode.record()
        assert (record.kind, record.set_by, record.ended_at) == ("washout", "ann", None)
        assert record.ends_at == pytest.approx(ends.timestamp())
        assert record.active_at(time.time())

        ended = store.end(FREE, ann, "washed already")
        publisher.publish(conn, mode.mode_id)
        first, second = _on_topic(modes)[FREE]
        assert first == record
        assert second.version == 2
        assert second.ended_at is not None
        assert ended.ended_at is not None
        assert second.ended_at == pytest.approx(ended.ended_at.timestamp())
        assert not second.active_at(time.time())
    finally:
        publisher.close()
    row = conn.execute(
        "SELECT status, ended_by, end_reason, published_version FROM truck_modes "
        "WHERE mode_id = %s",
        (mode.mode_id,),
    ).fetchone()
    assert row == ("ended", "ann", "washed already", 2)
    assert _audit(conn, mode.mode_id) == [
        ("set_mode", "ann", "cli", True, "active", "after a fish load"),
        ("end_mode", "ann", "cli", False, "ended", "washed already"),
    ]
    admin = make_admin(modes)  # held: the futures need the client alive
    config = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.TOPIC, modes.topic_truck_modes)]
    )
    (future,) = config.values()
    assert future.result()["cleanup.policy"].value == "compact"


def test_on_a_truck_with_an_active_shipment_a_mode_waits_for_a_second_carrier_admin(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT), "ann")
    store = ModeStore(conn, REGISTRY)
    mode = store.set(
        LOADED,
        "maintenance",
        "reefer unit alarm",
        datetime.now(UTC) + timedelta(hours=2),
        store.user("boss"),
    )
    assert (mode.status, mode.version) == ("pending_approval", 0)
    publisher = ModePublisher(modes)
    try:
        assert publisher.publish(conn, mode.mode_id) is None
        assert publisher.publish_pending(conn) == 0
        assert LOADED not in _on_topic(modes)

        refusals = {
            "boss": "approved_by",  # who set it
            "ann": "role",  # a dispatcher
            "vic": "role",  # a viewer
            "kem": "organisation",  # a shipper's admin
        }
        for name, field in refusals.items():
            with pytest.raises(Refused) as caught:
                store.approve(mode.mode_id, store.user(name))
            assert (caught.value.reason, caught.value.field) == ("forbidden", field), name
        assert store.get(mode.mode_id) == mode  # nothing changed

        approved = store.approve(mode.mode_id, store.user("chief"))
        assert (approved.status, approved.version, approved.approved_by) == ("active", 1, "chief")
        assert approved.starts_at == approved.approved_at
        publisher.publish(conn, mode.mode_id)
        (record,) = _on_topic(modes)[LOADED]
        assert (record.approved_by, record.set_by, record.kind) == ("chief", "boss", "maintenance")
        assert record.active_at(time.time())
    finally:
        publisher.close()
    assert _audit(conn, mode.mode_id) == [
        (
            "set_mode",
            "boss",
            "cli",
            True,
            "pending_approval",
            f"reefer unit alarm (pending approval: truck carries active shipment "
            f"{SHIPMENT.shipment_id})",
        ),
        ("approve_mode", "chief", "cli", False, "active", None),
    ]


def test_a_refused_or_withdrawn_pending_mode_is_never_published(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT), "ann")
    store = ModeStore(conn, REGISTRY)
    ends = datetime.now(UTC) + timedelta(hours=2)
    first = store.set(LOADED, "precooling", "before loading", ends, store.user("ann"))
    refused = store.refuse(first.mode_id, store.user("boss"), "the load is on board")
    assert (refused.status, refused.approved_by, refused.version) == ("refused", "boss", 0)
    with pytest.raises(Refused) as caught:
        store.approve(first.mode_id, store.user("chief"))
    assert (caught.value.reason, caught.value.field) == ("conflict", "status")
    second = store.set(LOADED, "precooling", "try again", ends, store.user("ann"))
    withdrawn = store.end(LOADED, store.user("ann"), "not needed")
    assert (withdrawn.mode_id, withdrawn.status, withdrawn.version) == (second.mode_id, "ended", 0)
    publisher = ModePublisher(modes)
    try:
        assert publisher.publish_pending(conn) == 0
    finally:
        publisher.close()
    assert [a[0] for a in _audit(conn, first.mode_id)] == ["set_mode", "refuse_mode"]


def test_refusals_store_nothing(modes: Settings, conn: psycopg.Connection[Any]) -> None:
    store = ModeStore(conn, REGISTRY)
    now = datetime.now(UTC)
    soon = now + timedelta(hours=1)
    ann = store.user("ann")
    cases: list[tuple[Any, str]] = [
        (lambda: store.set(FREE, "washout", "x", soon, store.user("vic")), "role"),
        (lambda: store.set(FREE, "washout", "x", soon, store.user("kem")), "organisation"),
        (lambda: store.set(FREE, "washout", "  ", soon, ann), "reason"),
        (lambda: store.set(FREE, "party", "x", soon, ann), "kind"),
        (lambda: store.set(FREE, "washout", "x", now - timedelta(minutes=1), ann), "ends_at"),
        (lambda: store.set(FREE, "washout", "x", now + timedelta(days=8), ann), "ends_at"),
        (lambda: store.end(FREE, ann, "nothing to end"), "truck_id"),
        (lambda: store.user("nobody"), "as"),
    ]
    for call, field in cases:
        with pytest.raises(Refused) as caught:
            call()
        assert caught.value.field == field
        assert str(caught.value).startswith(f"{field}: ")
    with pytest.raises(NotFound):
        store.set("NO SUCH TRUCK", "washout", "x", soon, ann)
    with pytest.raises(NotFound):
        store.approve("mode-nope", store.user("boss"))
    assert _count(conn) == 0

    store.set(FREE, "washout", "first", soon, ann)
    with pytest.raises(Refused) as caught:
        store.set(FREE, "maintenance", "second", soon, store.user("boss"))
    assert (caught.value.reason, caught.value.field) == ("conflict", "truck_id")
    assert "washout" in str(caught.value)
    assert _count(conn) == 1


def test_a_mode_past_its_end_time_is_over_and_the_truck_free(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ModeStore(conn, REGISTRY)
    ann = store.user("ann")
    start = datetime.now(UTC) - timedelta(hours=2)
    old = store.set(FREE, "washout", "earlier", start + timedelta(hours=1), ann, now=start)
    assert store.list() == []  # over by the clock
    assert [m.mode_id for m in store.list(include_over=True)] == [old.mode_id]
    assert [m.mode_id for m in store.list(status="ended")] == [old.mode_id]
    new = store.set(FREE, "precooling", "now", datetime.now(UTC) + timedelta(hours=1), ann)
    assert store.get(old.mode_id).status == "ended"  # type: ignore[union-attr]
    assert old.version == store.get(old.mode_id).version  # type: ignore[union-attr]
    assert [m.mode_id for m in store.list(truck=FREE)] == [new.mode_id]


def test_publish_pending_sends_what_a_crash_left(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ModeStore(conn, REGISTRY)
    mode = store.set(
        FREE, "washout", "x", datetime.now(UTC) + timedelta(hours=1), store.user("ann")
    )
    publisher = ModePublisher(modes)
    try:
        assert publisher.publish_pending(conn) == 1
        assert publisher.publish_pending(conn) == 0
    finally:
        publisher.close()
    assert [r.mode_id for r in _on_topic(modes)[FREE]] == [mode.mode_id]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logistream", "modes", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_set_approve_list_end(
    modes: Settings, conn: psycopg.Connection[Any], settings_env: dict[str, str]
) -> None:
    env = {**settings_env, "LOGISTREAM_TOPIC_TRUCK_MODES": modes.topic_truck_modes}
    env["LOGISTREAM_TIMEZONE"] = "Africa/Nairobi"
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="minutes")
    viewer = _cli(
        env, "set", FREE, "--kind", "washout", "--reason", "x", "--until", until, "--as", "vic"
    )
    assert viewer.returncode == 2
    assert "role: user 'vic' is a viewer" in viewer.stderr
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT), "ann")
    done = _cli(
        env,
        "set",
        LOADED,
        "--kind",
        "maintenance",
        "--reason",
        "door seal",
        "--until",
        until,
        "--as",
        "ann",
    )
    assert done.returncode == 0, done.stderr
    assert "pending_approval" in done.stdout
    mode_id = done.stdout.split()[0]
    same = _cli(env, "approve", mode_id, "--as", "ann")
    assert same.returncode == 2
    assert "approved_by: 'ann' set this mode" in same.stderr
    ok = _cli(env, "approve", mode_id, "--as", "boss")
    assert ok.returncode == 0, ok.stderr
    assert "active" in ok.stdout
    assert "approved by boss" in ok.stdout
    listed = _cli(env, "list", "--truck", LOADED)
    assert listed.returncode == 0
    assert mode_id in listed.stdout
    ended = _cli(env, "end", LOADED, "--reason", "fixed", "--as", "ann")
    assert ended.returncode == 0, ended.stderr
    assert "ended by ann (fixed)" in ended.stdout
    assert _cli(env, "list").stdout.strip() == "No modes match."
    records = _on_topic(modes)[LOADED]
    assert [r.version for r in records] == [1, 2]
    assert records[-1].ended_at is not None


def test_two_dispatchers_at_once_leave_one_mode(
    modes: Settings, conn: psycopg.Connection[Any]
) -> None:
    """The partial unique index decides between two concurrent sets; the loser gets the same
    one-line conflict as a set after the other."""
    import threading

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}
    ends = datetime.now(UTC) + timedelta(hours=1)

    def set_as(name: str) -> None:
        with psycopg.connect(modes.database_url or "", autocommit=True) as own:
            store = ModeStore(own, REGISTRY)
            actor = store.user(name)
            barrier.wait()
            try:
                outcomes[name] = store.set(FREE, "washout", f"by {name}", ends, actor)
            except Refused as error:
                outcomes[name] = error

    threads = [threading.Thread(target=set_as, args=(name,)) for name in ("ann", "boss")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [o for o in outcomes.values() if isinstance(o, Refused)]
    assert len(outcomes) == 2
    assert len(refused) == 1
    assert (refused[0].reason, refused[0].field) == ("conflict", "truck_id")
    assert _count(conn) == 1
