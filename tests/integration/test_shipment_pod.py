"""Proof of delivery on a real PostgreSQL and Kafka: users of an organisation (migration 0022),
a lot accepted and one rejected at their stop with the lot's temperature summary from the
archived readings, the refusals (a lot not on that stop, a user of another organisation or of
the operator, a second signature, a cancelled shipment) storing nothing, the record on the
``shipments`` topic carrying the PoDs, the shipment delivered once every lot is signed for, and
``logistream users add --organisation`` / ``logistream shipments pod`` end to end."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.test_shipment_store import _on_topic

import logistream.shipments
from logistream.config import Settings
from logistream.kafka import make_admin
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.serving.users import add_organisation, add_user, list_users
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.pod import PodRequest, Signatory
from logistream.shipments.publish import ShipmentPublisher
from logistream.shipments.store import ShipmentStore, new_record
from logistream.shipments.wire import ShipmentRecord

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)  # receiver moh-western, shipper kemsa
ID = SHIPMENT.shipment_id
CREATED = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # the origin's window opens at 03:00 UTC
ORIGIN = (-1.2864, 36.8172)
KISUMU = (-0.0917, 34.768)
PASSWORD = "a long enough password"


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


def _archive_the_trip_to_kisumu(conn: psycopg.Connection[Any]) -> None:
    """KCB 781C's front probe: 10 min in the origin's fence at 5 °C, three readings on the
    road (4.0, 6.0 and 9.5 °C: above the vaccines' 8 °C), then 10 min at Kisumu at 5 °C."""
    conn.execute("SELECT ensure_reading_partition(%s::date)", ["2026-12-08"])
    rows: list[tuple[datetime, float, tuple[float, float]]] = []
    loading = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    rows += [(loading + timedelta(minutes=m), 5.0, ORIGIN) for m in range(11)]
    road = (-0.6, 35.6)
    rows += [
        (datetime(2026, 12, 8, h, 0, tzinfo=UTC), temp, road)
        for h, temp in ((5, 4.0), (7, 6.0), (8, 9.5))
    ]
    arrival = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    rows += [(arrival + timedelta(minutes=m), 5.0, KISUMU) for m in range(11)]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (event_id, event_time, truck_id, temp, lat, lon, probe_id, "
            "cargo, source_partition, source_offset) "
            "VALUES (%s, %s, 'KCB 781C', %s, %s, %s, 'front', 'vaccines', 0, %s)",
            [(f"r{i}", at, temp, lat, lon, i) for i, (at, temp, (lat, lon)) in enumerate(rows)],
        )


def _counts(conn: psycopg.Connection[Any]) -> tuple[int, int, int]:
    """(PoD rows, change-log rows, version) of the shipment."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM shipment_pod WHERE shipment_id = %s), "
        "(SELECT count(*) FROM shipment_changes WHERE shipment_id = %s), "
        "(SELECT version FROM shipments WHERE shipment_id = %s)",
        (ID, ID, ID),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def _request(stop: str, lot: str, decision: str, note: str = "") -> PodRequest:
    return PodRequest(
        stop, lot, decision, "Wanjiku Otieno", datetime(2026, 12, 8, 10, 15, tzinfo=UTC), note
    )


def test_pods_at_the_right_stop_refusals_the_topic_and_delivery(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    add_organisation(conn, "moh-western", "receiver")  # organisations exist first (0023)
    add_organisation(conn, "kemsa", "shipper")
    add_user(conn, "wanjiku", "viewer", PASSWORD, "moh-western")  # the receiver
    add_user(conn, "kem", "viewer", PASSWORD, "kemsa")  # the shipper
    add_user(conn, "ann", "dispatcher", PASSWORD)  # the fleet operator's staff
    assert {(u.name, u.organisation) for u in list_users(conn)} == {
        ("wanjiku", "moh-western"), ("kem", "kemsa"), ("ann", "carrier")
    }  # fmt: skip
    _archive_the_trip_to_kisumu(conn)
    store = ShipmentStore(conn, REGISTRY)
    publisher = ShipmentPublisher(shipping, REGISTRY, timeout_s=30)
    store.create(new_record(SHIPMENT, CREATED), "ann")
    receiver = store.signatory("wanjiku")
    assert receiver == Signatory("wanjiku", "moh-western")

    # Refused, nothing stored: a lot of another stop, a stranger, the operator's staff.
    refusals = [
        (_request("kisumu-depot", "MR-2612", "accepted"), receiver,
         "lot: lot 'MR-2612' is not dropped at 'kisumu-depot' but at 'kakamega-depot'"),
        (_request("kisumu-depot", "MR-2611", "accepted"), store.signatory("kem"),
         "organisation: 'kem' belongs to organisation 'kemsa', not the receiver 'moh-western'"),
        (_request("kisumu-depot", "MR-2611", "accepted"), store.signatory("ann"),
         "organisation: 'ann' belongs to the fleet operator's staff"),
    ]  # fmt: skip
    for request, who, expected in refusals:
        with pytest.raises(ShipmentError) as caught:
            store.record_pod(ID, request, who)
        assert str(caught.value).startswith(expected), str(caught.value)
        assert _counts(conn) == (0, 1, 1)
    with pytest.raises(ShipmentError, match=r"^user: no user 'nobody'"):
        store.signatory("nobody")

    # Accepted and rejected at Kisumu, with the temperature up to the handover.
    accepted = store.record_pod(ID, _request("kisumu-depot", "DIL-0907", "accepted"), receiver)
    rejected = store.record_pod(
        ID, _request("kisumu-depot", "MR-2611", "rejected", "indicator tripped"), receiver
    )
    assert (accepted.version, accepted.status) == (2, "active")
    assert (rejected.version, rejected.status) == (3, "active")
    assert [(p.lot, p.decision, p.stop_index, p.by, p.name) for p in rejected.pods] == [
        ("DIL-0907", "accepted", 1, "wanjiku", "Wanjiku Otieno"),
        ("MR-2611", "rejected", 1, "wanjiku", "Wanjiku Otieno"),
    ]
    assert store.get(ID) == rejected
    summary = store.pod_temperature(ID, "MR-2611")
    assert summary is not None
    assert (summary["min_c"], summary["max_c"]) == (4.0, 9.5)
    assert summary["readings"] >= 14  # loading (after its dwell) to the last Kisumu reading
    assert summary["excursions"] >= 1
    assert summary["mkt_c"] is not None
    row = conn.execute(
        "SELECT stop_id, decision, recorded_by, signer_name, organisation, note, version "
        "FROM shipment_pod WHERE shipment_id = %s AND lot_number = 'MR-2611'",
        (ID,),
    ).fetchone()
    assert row == ("kisumu-depot", "rejected", "wanjiku", "Wanjiku Otieno", "moh-western",
                   "indicator tripped", 3)  # fmt: skip
    last = store.changes(ID)[-1]
    assert (last.version, last.change, last.by, last.reason) == (
        3, "pod_recorded", "wanjiku", "indicator tripped"
    )  # fmt: skip
    assert last.detail is not None
    assert (last.detail["lot"], last.detail["decision"], last.detail["stop_id"]) == (
        "MR-2611", "rejected", "kisumu-depot"
    )  # fmt: skip

    # A second signature is refused, by anyone of the receiver.
    add_user(conn, "otieno", "viewer", PASSWORD, "moh-western")
    with pytest.raises(ShipmentError, match=r"^lot: lot 'MR-2611' was already rejected by"):
        store.record_pod(
            ID, _request("kisumu-depot", "MR-2611", "accepted"), store.signatory("otieno")
        )
    assert _counts(conn) == (2, 3, 3)

    # The speed layer learns the rejection from the topic.
    publisher.publish(conn, ID)
    on_topic = _on_topic(shipping)[ID]
    assert on_topic == rejected
    assert [(p.lot, p.decision) for p in on_topic.pods] == [
        ("DIL-0907", "accepted"), ("MR-2611", "rejected")
    ]  # fmt: skip

    # The last lots: the shipment is delivered, its truck free again; no more PoDs.
    store.record_pod(ID, _request("kakamega-depot", "MR-2612", "accepted"), receiver)
    done = store.record_pod(ID, _request("bungoma-depot", "MR-2613", "accepted"), receiver)
    assert (done.version, done.status, len(done.pods)) == (5, "delivered", 4)
    publisher.publish(conn, ID)
    publisher.close()
    assert _on_topic(shipping)[ID] == done
    assert store.list(truck="KCB 781C", status="active") == []
    with pytest.raises(ShipmentError, match=r"^status: shipment 'SHP-2026-0118' is delivered"):
        store.record_pod(ID, _request("bungoma-depot", "MR-2613", "rejected"), receiver)


def test_a_cancelled_shipment_is_not_signed_for(conn: psycopg.Connection[Any]) -> None:
    store = ShipmentStore(conn, REGISTRY)
    store.create(new_record(SHIPMENT, CREATED), "ann")
    store.cancel(ID, "ann", "depot closed")
    with pytest.raises(ShipmentError, match=r"^status: shipment 'SHP-2026-0118' is cancelled"):
        store.record_pod(
            ID, _request("kisumu-depot", "MR-2611", "accepted"), Signatory("w", "moh-western")
        )
    assert _counts(conn) == (0, 2, 2)


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logistream", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_users_and_pod_commands(shipping: Settings, settings_env: dict[str, str]) -> None:
    env = {**settings_env, "LOGISTREAM_TOPIC_SHIPMENTS": shipping.topic_shipments}
    assert _cli(env, "orgs", "add", "moh-western", "--kind", "receiver").returncode == 0
    added = _cli(
        env, "users", "add", "wanjiku", "--organisation", "moh-western", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "user wanjiku added (viewer, moh-western)"
    assert (
        _cli(env, "users", "add", "ann", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    )
    listed = _cli(env, "users", "list")
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["ann", "viewer", "carrier"], ["wanjiku", "viewer", "moh-western"]
    ]  # fmt: skip
    assert _cli(env, "shipments", "create", str(EXAMPLE)).returncode == 0

    pod = ["shipments", "pod", ID, "--stop", "kisumu-depot", "--lot", "MR-2611"]
    outsider = _cli(env, *pod, "--reject", "--name", "Ann N", "--as", "ann")
    assert outsider.returncode == 2
    assert outsider.stderr.startswith(
        "logistream: organisation: 'ann' belongs to the fleet operator's staff, not the "
        "receiver 'moh-western'"
    )
    undecided = _cli(env, *pod, "--name", "W O", "--as", "wanjiku")
    assert undecided.returncode == 2
    assert "--accept/--reject: missing" in undecided.stderr
    signed = _cli(
        env, *pod, "--reject", "--name", "Wanjiku Otieno", "--note", "warm", "--as", "wanjiku"
    )
    assert signed.returncode == 0, signed.stderr
    lines = signed.stdout.splitlines()
    assert lines[0] == (
        f"{ID} version 2: lot MR-2611 rejected at kisumu-depot by Wanjiku Otieno "
        "(recorded by wanjiku)"
    )
    assert lines[1].startswith("temperature up to the handover: ")
    shown = _cli(env, "shipments", "show", ID)
    assert shown.returncode == 0, shown.stderr
    assert "v2 pod recorded by wanjiku at " in shown.stdout
    pods = shown.stdout.split("Proof of delivery\n", 1)[1].splitlines()
    assert pods[0].startswith(
        "  MR-2611 rejected at kisumu-depot by Wanjiku Otieno (recorded by wanjiku) at "
    )
    assert pods[0].endswith(": warm")
    record = _on_topic(shipping)[ID]
    assert [(p.lot, p.decision, p.by, p.note) for p in record.pods] == [
        ("MR-2611", "rejected", "wanjiku", "warm")
    ]


def test_two_receivers_signing_the_last_lots_at_once_deliver_the_shipment(
    shipping: Settings, conn: psycopg.Connection[Any]
) -> None:
    """The second signer waits on the shipment's row lock and then sees the first's PoD (a
    read after the lock, not the statement's older snapshot): the shipment is delivered, and
    the record published after both carries all four PoDs."""
    store = ShipmentStore(conn, REGISTRY)
    store.create(new_record(SHIPMENT, CREATED), "ann")
    receiver = Signatory("wanjiku", "moh-western")
    store.record_pod(ID, _request("kisumu-depot", "MR-2611", "accepted"), receiver)
    store.record_pod(ID, _request("kisumu-depot", "DIL-0907", "accepted"), receiver)
    outcome: list[object] = []

    def second_signer() -> None:
        with psycopg.connect(shipping.database_url or "", autocommit=True) as other:
            request = _request("bungoma-depot", "MR-2613", "rejected")
            outcome.append(ShipmentStore(other, REGISTRY).record_pod(ID, request, receiver))

    with conn.transaction():  # the first signer's transaction stays open...
        store.record_pod(ID, _request("kakamega-depot", "MR-2612", "accepted"), receiver)
        racer = threading.Thread(target=second_signer)
        racer.start()
        time.sleep(1.0)  # ...while the second waits on the row lock
        assert racer.is_alive()
    racer.join(30)
    (last,) = outcome
    assert isinstance(last, ShipmentRecord)
    assert (last.version, last.status, len(last.pods)) == (5, "delivered", 4)
    assert store.get(ID) == last
    publisher = ShipmentPublisher(shipping, REGISTRY, timeout_s=30)
    publisher.publish(conn, ID)
    publisher.close()
    assert _on_topic(shipping)[ID] == last
