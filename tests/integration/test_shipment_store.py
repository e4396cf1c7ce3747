"""The shipment store on a real PostgreSQL and its outbox on a real Kafka: create, the second
active shipment of a truck refused with nothing stored, cancel, a logged stage override, each
record read back from the compacted ``shipments`` topic, publish_pending healing an unpublished
row, and the ``logistream shipments`` commands end to end."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka.admin import ConfigResource

import logistream.shipments
from logistream.config import Settings
from logistream.errors import StoreUnavailable
from logistream.kafka import make_admin, make_consumer
from logistream.kafka.compacted import COMPACTED_CONFIG
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file, parse_shipment
from logistream.shipments.publish import ShipmentPublisher
from logistream.shipments.store import ShipmentStore, new_record
from logistream.shipments.wire import ShipmentRecord, StageOverride, decode_record, to_document

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
AT = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a shipments topic of its own, deleted afterwards."""
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    migrate(own, own.database_url or "")
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


@pytest.fixture
def conn(shipping: Settings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(shipping.database_url or "", autocommit=True) as connection:
        yield connection


def _on_topic(settings: Settings, timeout_s: float = 30.0) -> dict[str, ShipmentRecord]:
    """The latest record per key on the shipments topic, read from the beginning."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    consumer = make_consumer(settings, f"test-shipments.{uuid.uuid4().hex}")
    try:
        metadata = consumer.list_topics(settings.topic_shipments, timeout=10)
        partitions = metadata.topics[settings.topic_shipments].partitions
        consumer.assign(
            [TopicPartition(settings.topic_shipments, p, OFFSET_BEGINNING) for p in partitions]
        )
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(settings.topic_shipments, p))[1]
            for p in partitions
        }
        seen: dict[str, ShipmentRecord] = {}
        done = {p: end == 0 for p, end in ends.items()}
        deadline = time.monotonic() + timeout_s
        while not all(done.values()) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            seen[message.key().decode()] = decode_record(message.value(), REGISTRY)
            if message.offset() + 1 >= ends[message.partition()]:
                done[message.partition()] = True
        assert all(done.values()), "the shipments topic was not read to its end in time"
        return seen
    finally:
        consumer.close()


def _other_shipment(shipment_id: str) -> Any:
    document = to_document(SHIPMENT)
    document["shipment_id"] = shipment_id
    document["reference"] = f"REF-{shipment_id}"
    return parse_shipment(document, REGISTRY)


def _rows(conn: psycopg.Connection[Any], shipment_id: str) -> dict[str, int]:
    counts = {}
    for table in ("shipments", "shipment_lots", "shipment_stops", "shipment_changes"):
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE shipment_id = %s",
            (shipment_id,),
        ).fetchone()
        assert row is not None
        counts[table] = int(row[0])
    return counts


def test_create_store_query_tables_and_publish_on_a_compacted_topic(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ShipmentStore(conn, REGISTRY)
    created = store.create(new_record(SHIPMENT, AT), "ann")
    assert store.get(SHIPMENT.shipment_id) == created
    assert _rows(conn, SHIPMENT.shipment_id) == {
        "shipments": 1, "shipment_lots": 4, "shipment_stops": 4, "shipment_changes": 1
    }  # fmt: skip
    drops = conn.execute(
        "SELECT drops, geofence FROM shipment_stops WHERE shipment_id = %s AND stop_id = %s",
        (SHIPMENT.shipment_id, "kisumu-depot"),
    ).fetchone()
    assert drops == (["MR-2611", "DIL-0907"], {"circle": {"lat": -0.0917, "lon": 34.768,
                                                          "radius_m": 500.0}})  # fmt: skip
    # Not on Kafka until published: the row is the outbox.
    assert conn.execute("SELECT published_version FROM shipments").fetchone() == (0,)

    publisher = ShipmentPublisher(shipping, REGISTRY, timeout_s=30)
    assert publisher.publish(conn, SHIPMENT.shipment_id) == created
    assert publisher.publish(conn, SHIPMENT.shipment_id) is None  # already there
    publisher.close()
    assert conn.execute("SELECT published_version FROM shipments").fetchone() == (1,)
    assert _on_topic(shipping) == {SHIPMENT.shipment_id: created}
    resource = ConfigResource("topic", shipping.topic_shipments)
    admin = make_admin(shipping)  # kept: the futures need their client alive
    (future,) = admin.describe_configs([resource]).values()
    assert future.result(timeout=10)["cleanup.policy"].value == COMPACTED_CONFIG["cleanup.policy"]

    assert [r.shipment.shipment_id for r in store.list(truck="KCB 781C")] == ["SHP-2026-0118"]
    assert store.list(shipper="kemsa", status="active") == [created]
    assert store.list(receiver="nobody") == []
    with pytest.raises(ShipmentError, match=r"^shipment_id: 'SHP-2026-0118' already exists"):
        store.create(new_record(SHIPMENT, AT), "ann")


def test_a_second_active_shipment_on_a_truck_is_refused_with_nothing_stored(
    conn: psycopg.Connection[Any],
) -> None:
    store = ShipmentStore(conn, REGISTRY)
    store.create(new_record(SHIPMENT, AT), "ann")
    second = _other_shipment("SHP-2026-0119")
    with pytest.raises(ShipmentError) as caught:
        store.create(new_record(second, AT), "bob")
    assert caught.value.field == "truck_id"
    assert str(caught.value) == (
        "truck_id: KCB 781C already carries active shipment 'SHP-2026-0118'; cancel that one "
        "first or choose another truck"
    )
    assert _rows(conn, "SHP-2026-0119") == dict.fromkeys(
        ("shipments", "shipment_lots", "shipment_stops", "shipment_changes"), 0
    )
    # The rule is the database's too, not only the store's check.
    with pytest.raises(psycopg.errors.UniqueViolation, match="shipments_one_active_per_truck"):
        conn.execute(
            "INSERT INTO shipments (shipment_id, reference, shipper_id, shipper_name, "
            "receiver_id, receiver_name, cargo, truck_id, document, created_by) "
            "VALUES ('X', 'r', 's', 's', 'r', 'r', 'vaccines', 'KCB 781C', '{}', 'sql')"
        )
    # Once the first is cancelled, the truck is free.
    store.cancel("SHP-2026-0118", "ann", "loaded on another truck")
    assert store.create(new_record(second, AT), "bob").version == 1


def test_two_writers_racing_for_one_truck_get_one_shipment_and_one_refusal(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    """The second writer's checks run before the first commits: the unique index decides, and
    the refusal is the same one line."""
    first = ShipmentStore(conn, REGISTRY)
    outcome: list[BaseException | None] = []

    def second_writer() -> None:
        with psycopg.connect(shipping.database_url or "", autocommit=True) as other:
            try:
                ShipmentStore(other, REGISTRY).create(
                    new_record(_other_shipment("SHP-2026-0121"), AT), "bob"
                )
                outcome.append(None)
            except ShipmentError as error:
                outcome.append(error)

    with conn.transaction():  # the first writer's transaction stays open...
        first.create(new_record(SHIPMENT, AT), "ann")
        racer = threading.Thread(target=second_writer)
        racer.start()
        time.sleep(1.0)  # ...while the second passes its checks and waits on the index
        assert racer.is_alive()
    racer.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ShipmentError)
    assert str(outcome[0]).startswith(
        "truck_id: KCB 781C already carries active shipment 'SHP-2026-0118'"
    )
    assert _rows(conn, "SHP-2026-0121")["shipments"] == 0


def test_cancel_and_override_are_logged_versioned_and_published_in_order(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ShipmentStore(conn, REGISTRY)
    publisher = ShipmentPublisher(shipping, REGISTRY, timeout_s=30)
    store.create(new_record(SHIPMENT, AT), "ann")
    publisher.publish(conn, SHIPMENT.shipment_id)
    override = StageOverride("at_stop", 2, "dispatch:carol", AT, "GPS lost in the depot yard")
    overridden = store.override_stage(SHIPMENT.shipment_id, override)
    assert (overridden.version, overridden.override, overridden.status) == (2, override, "active")
    publisher.publish(conn, SHIPMENT.shipment_id)
    cancelled = store.cancel(SHIPMENT.shipment_id, "ann", "the depot is closed")
    publisher.publish(conn, SHIPMENT.shipment_id)
    publisher.close()
    assert cancelled.version == 3
    assert cancelled.status == "cancelled"
    assert cancelled.override == override  # the latest one is kept
    assert store.get(SHIPMENT.shipment_id) == cancelled

    log = [(c.version, c.change, c.by, c.reason, c.detail) for c in store.changes("SHP-2026-0118")]
    assert log == [
        (1, "created", "ann", "", None),
        (2, "stage_overridden", "dispatch:carol", "GPS lost in the depot yard",
         {"stage": "at_stop", "stop_index": 2}),
        (3, "cancelled", "ann", "the depot is closed", None),
    ]  # fmt: skip
    assert store.changes("SHP-2026-0118")[1].at == AT

    topic = _on_topic(shipping)
    assert topic[SHIPMENT.shipment_id] == cancelled
    assert topic[SHIPMENT.shipment_id].shipment == SHIPMENT

    with pytest.raises(ShipmentError, match=r"^status: shipment 'SHP-2026-0118' is cancelled"):
        store.cancel(SHIPMENT.shipment_id, "ann", "again")
    with pytest.raises(ShipmentError, match=r"^status: .* is cancelled"):
        store.override_stage(SHIPMENT.shipment_id, override)
    assert store.get(SHIPMENT.shipment_id) == cancelled  # refusals change nothing


def test_a_refused_override_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    store = ShipmentStore(conn, REGISTRY)
    created = store.create(new_record(SHIPMENT, AT), "ann")
    with pytest.raises(ShipmentError, match=r"^stop_index: 3 does not fit stage 'at_stop'"):
        store.override_stage(SHIPMENT.shipment_id, StageOverride("at_stop", 3, "c", AT, "why"))
    assert store.get(SHIPMENT.shipment_id) == created
    assert len(store.changes(SHIPMENT.shipment_id)) == 1


def test_publish_pending_heals_a_change_committed_but_never_published(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    store = ShipmentStore(conn, REGISTRY)
    # Kafka out of reach at publication: the change stays stored, marked unpublished.
    created = store.create(new_record(SHIPMENT, AT), "ann")
    nowhere = shipping.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    with pytest.raises(StoreUnavailable) as caught:
        ShipmentPublisher(nowhere, REGISTRY, timeout_s=2).publish(conn, SHIPMENT.shipment_id)
    assert caught.value.store == "kafka"
    assert "stay stored and unpublished" in str(caught.value)
    # A crash between the commit and the publication: stored, never sent.
    other = store.create(new_record(dataclasses.replace(
        _other_shipment("SHP-2026-0120"), truck_id="KCD 219D", probes=()), AT), "ann")  # fmt: skip
    after_restart = ShipmentPublisher(shipping, REGISTRY, timeout_s=30)
    assert after_restart.publish_pending(conn) == 2
    assert after_restart.publish_pending(conn) == 0
    after_restart.close()
    assert _on_topic(shipping) == {"SHP-2026-0118": created, "SHP-2026-0120": other}
    row = conn.execute("SELECT count(*) FROM shipments WHERE published_version < version")
    assert row.fetchone() == (0,)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logistream", "shipments", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_shipments_commands(
    shipping: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**settings_env, "LOGISTREAM_TOPIC_SHIPMENTS": shipping.topic_shipments}
    created = _cli(env, "create", str(EXAMPLE))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "SHP-2026-0118 version 1: created"
    assert created.stderr == ""

    again = _cli(env, "create", str(EXAMPLE))
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "logistream: shipment_id: 'SHP-2026-0118' already exists; give the new shipment its own id"
    ]

    bad = tmp_path / "bad.json"
    document = to_document(SHIPMENT)
    document["probes"] = ["middle"]
    bad.write_text(json.dumps(document), encoding="utf-8")
    refused = _cli(env, "create", str(bad))
    assert refused.returncode == 2
    assert refused.stderr.startswith("logistream: probes[0]: KCB 781C has no probe 'middle'")

    stage = _cli(env, "override", "SHP-2026-0118", "--stage", "at_stop", "--reason", "GPS lost")
    assert stage.returncode == 2
    assert "--stop: stage at_stop fits stops 1 to 2; say which" in stage.stderr
    stage = _cli(env, "override", "SHP-2026-0118", "--stage", "at_origin", "--reason", "loading")
    assert stage.returncode == 0, stage.stderr
    assert stage.stdout.strip() == "SHP-2026-0118 version 2: stage set to at_origin (stop 0)"

    listed = _cli(env, "list", "--status", "active", "--shipper", "kemsa")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["SHIPMENT", "REFERENCE", "SHIPPER"]
    assert lines[1].split()[:2] == ["SHP-2026-0118", "KEMSA/EPI/2026/118"]
    assert "kemsa → moh-western" in lines[1]
    assert _cli(env, "list", "--status", "lost").returncode == 2

    shown = _cli(env, "show", "SHP-2026-0118")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Kenya Medical Supplies Authority, central vaccine store [kemsa] → Ministry" in text
    assert "truck KCB 781C (front, rear)" in text
    assert "status active, version 2" in text
    assert "Kisumu regional vaccine depot" in text
    assert "2026-12-08 13:00–14:30 EAT" in text
    assert "MR-2611, DIL-0907" in text
    assert "v2 stage overridden to at_origin (stop 0) by cli:" in text

    gone = _cli(env, "cancel", "SHP-2026-0118", "--reason", "depot closed")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.strip() == "SHP-2026-0118 version 3: cancelled"
    missing = _cli(env, "show", "SHP-0000")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "logistream: no shipment 'SHP-0000'; `logistream shipments list` shows the shipments"
    )

    record = _on_topic(shipping)["SHP-2026-0118"]
    assert (record.version, record.status) == (3, "cancelled")
    assert record.override is not None
    assert record.override.by.startswith("cli:")
