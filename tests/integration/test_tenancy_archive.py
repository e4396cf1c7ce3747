"""Tenancy of the archive on a real PostgreSQL (Kafka and Redis for the API in-process):
readings, alert changes, trips and their views and issued reports under row-level security for
the tenant role (migration 0055), read through ``reads.tenancy.scoped``.

A shipper or receiver sees the readings and alert changes of its shipment's truck within the
shipment's window only (not before it was created, not after it was cancelled), a trip only
when the whole trip lies within that window, nothing of another shipper's truck, and nothing
at all without an organisation (fail closed). The carrier, the reader role without a tenant
and the bridge's inserts are as before. The API's alert history, one alert, trips, a trip's
readings and its report answer a tenant's token accordingly (another's: 404 as an unknown id);
acknowledging stays the carrier's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from tests.integration.api_support import api_client, auth, fetch, prepare
from tests.integration.test_api_shipments import DOCUMENT, ID, REGISTRY
from tests.integration.test_tenancy_shipments import OTHER, RECEIVER, SHIPPER, _acme

from logistream.api.shipment_input import read_shipment
from logistream.api.token_store import create_token
from logistream.config import Settings, role_conninfo, role_password
from logistream.kafka import make_admin
from logistream.reads.connect import connect_reader
from logistream.reads.tenancy import alert_visible, scoped
from logistream.schema.migrate import migrate
from logistream.shipments.store import ShipmentStore, new_record

TRUCK = DOCUMENT["truck_id"]
ACME_TRUCK = _acme()["truck_id"]
_offset = iter(range(1, 1_000_000))


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _reading(conn: psycopg.Connection[Any], event_id: str, truck: str, at: datetime,
             trip: str | None = None) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO readings (event_id, event_time, truck_id, temp, trip_id, source_partition, "
        "source_offset) VALUES (%s, %s, %s, 5.0, %s, 0, %s)",
        [event_id, at, truck, trip, next(_offset)],
    )


def _alert(conn: psycopg.Connection[Any], alert_id: str, truck: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, rule, severity, "
        "opened_at, message, payload, source_partition, source_offset) "
        "VALUES (%s, 'opened', %s, %s, 'temp_high', 'major', %s, %s, %s, 0, %s)",
        [alert_id, at, truck, at, f"{alert_id} on {truck}", Jsonb({}), next(_offset)],
    )


def _trip(conn: psycopg.Connection[Any], truck: str, trip: str, start: datetime,
          end: datetime) -> None:  # fmt: skip
    """A trip in the batch views with a data gap and an issued report version (owner)."""
    conn.execute(
        "INSERT INTO trips (truck_id, trip_id, trip_id_sent, cargo, start_time, end_time, "
        "duration_s, distance_km, readings, gap_count, gap_s, longest_gap_s) "
        "VALUES (%s, %s, true, 'vaccines', %s, %s, 1, 0, 2, 0, 0, 0)",
        [truck, trip, start, end],
    )
    conn.execute(
        "INSERT INTO trip_gaps (truck_id, trip_id, gap_start, gap_end, gap_s) "
        "VALUES (%s, %s, %s, %s, 0)",
        [truck, trip, start, end],
    )
    conn.execute(
        "INSERT INTO report_versions (truck_id, trip_id, version, digest, digest_format, "
        "readings, verdict, content) VALUES (%s, %s, 1, %s, 'x', 2, 'pass', '{}')",
        [truck, trip, f"d-{truck}-{trip}"],
    )


def _archive(settings: Settings) -> dict[str, datetime]:
    """Both shipments (kemsa's on TRUCK, acme's on ACME_TRUCK) and, as the owner writes them,
    readings, alert changes and trips before, within and across their windows."""
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        for document in (DOCUMENT, _acme()):
            store.create(new_record(read_shipment(document, REGISTRY)), "test")
        starts = {
            str(sid): created
            for sid, created in conn.execute("SELECT shipment_id, created_at FROM shipments")
        }
        t0, a0 = starts[ID], starts[OTHER]
        hour = timedelta(hours=1)
        step = timedelta(milliseconds=10)  # the shipment is cancelled soon after
        _reading(conn, "r-before", TRUCK, t0 - hour, "T-prev")
        _reading(conn, "r-during-1", TRUCK, t0 + step, "T-in")
        _reading(conn, "r-during-2", TRUCK, t0 + 2 * step, "T-in")
        _reading(conn, "r-acme", ACME_TRUCK, a0 + step, "A-in")
        _alert(conn, "a-before", TRUCK, t0 - hour)
        _alert(conn, "a-during", TRUCK, t0 + step)
        _alert(conn, "a-acme", ACME_TRUCK, a0 + step)
        _trip(conn, TRUCK, "T-in", t0 + step, t0 + 2 * step)  # within the window
        _trip(conn, TRUCK, "T-across", t0 - hour, t0 + 2 * step)  # began before
        _trip(conn, TRUCK, "T-prev", t0 - hour, t0 - hour / 2)  # before
        _trip(conn, ACME_TRUCK, "A-in", a0 + step, a0 + 2 * step)
    return {"kemsa": t0, "acme": a0}


def _seen(conn: psycopg.Connection[Any]) -> dict[str, set[str]]:
    def ids(query: str) -> set[str]:
        return {str(r[0]) for r in conn.execute(query.encode()).fetchall()}

    return {
        "readings": ids("SELECT event_id FROM readings"),
        "alerts": ids("SELECT alert_id FROM alert_changes"),
        "trips": ids("SELECT trip_id FROM trips"),
        "gaps": ids("SELECT trip_id FROM trip_gaps"),
        "reports": ids("SELECT trip_id FROM report_versions"),
    }


EVERYTHING = {
    "readings": {"r-before", "r-during-1", "r-during-2", "r-acme"},
    "alerts": {"a-before", "a-during", "a-acme"},
    "trips": {"T-in", "T-across", "T-prev", "A-in"},
    "gaps": {"T-in", "T-across", "T-prev", "A-in"},
    "reports": {"T-in", "T-across", "T-prev", "A-in"},
}
KEMSA = {
    "readings": {"r-during-1", "r-during-2"},
    "alerts": {"a-during"},
    "trips": {"T-in"},
    "gaps": {"T-in"},
    "reports": {"T-in"},
}
ACME = {
    "readings": {"r-acme"},
    "alerts": {"a-acme"},
    "trips": {"A-in"},
    "gaps": {"A-in"},
    "reports": {"A-in"},
}
NOTHING: dict[str, set[str]] = {key: set() for key in EVERYTHING}


def test_a_tenant_reads_the_archive_of_its_shipments_windows_only(settings: Settings) -> None:
    migrate(settings, settings.database_url or "")
    starts = _archive(settings)
    with connect_reader(settings) as conn:
        # The reader role reads the archive as before, with or without the carrier's scope.
        assert _seen(conn) == EVERYTHING
        with scoped(conn, "carrier"):
            assert _seen(conn) == EVERYTHING
        for organisation, expected in (
            (SHIPPER, KEMSA), (RECEIVER, KEMSA), ("acme", ACME), ("dairy-rx", ACME),
            ("nobody", NOTHING),
        ):  # fmt: skip
            with scoped(conn, organisation):
                assert _seen(conn) == expected, organisation
                role = conn.execute("SELECT current_user").fetchone()
                assert role == ("logistream_tenant",)
        # The role and the setting ended with the transaction.
        assert conn.execute("SELECT current_user").fetchone() == ("logistream_reader",)
        assert _seen(conn) == EVERYTHING
        assert alert_visible(conn, SHIPPER, "a-during")
        assert not alert_visible(conn, SHIPPER, "a-before")
        assert not alert_visible(conn, SHIPPER, "a-acme")
        assert alert_visible(conn, "acme", "a-acme")
        # The functions the policies stand for (migrations 0055, 0056), for single questions.
        t0 = starts["kemsa"]
        questions = (
            "SELECT tenant_may_see(%(truck)s, %(t0)s + interval '10 ms'), "
            "tenant_may_see(%(truck)s, %(t0)s - interval '1 s'), "
            "tenant_may_see_span(%(truck)s, %(t0)s, %(t0)s + interval '1 hour'), "
            "tenant_may_see_span(%(truck)s, %(t0)s - interval '1 s', %(t0)s)"
        )
        for organisation, expected in (
            (SHIPPER, (True, False, True, False)), ("acme", (False, False, False, False))
        ):  # fmt: skip
            with scoped(conn, organisation):
                row = conn.execute(questions, {"truck": TRUCK, "t0": t0}).fetchone()
                assert row == expected, organisation

        # Fail closed: the tenant role without an organisation, or with a blank one, sees none.
        with conn.transaction():
            conn.execute("SET LOCAL ROLE logistream_tenant")
            assert _seen(conn) == NOTHING
            conn.execute("SELECT set_config('logistream.organisation', '', true)")
            assert _seen(conn) == NOTHING
        # Nothing else is the tenant's to read: the accounts, tokens, audit log, the readings'
        # partitions (around the parent's policy), the old view over readings.
        partition = fetch(
            settings,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'readings'::regclass ORDER BY 1 LIMIT 1",
        )[0][0]
        for table in ("users", "api_tokens", "audit_log", "notifications", "rejected_readings",
                      "truck_history", "kafka_offsets", str(partition)):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege), scoped(conn, SHIPPER):
                conn.execute(f'SELECT count(*) FROM "{table}"'.encode())

    # Cancelled: the window closes at the cancellation, ends included; after it, not the
    # shipper's. The trip that ended before the cancellation stays visible.
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        ShipmentStore(conn, REGISTRY).cancel(ID, "test", "test")
        ended = conn.execute(
            "SELECT max(changed_at) FROM shipment_changes WHERE shipment_id = %s", [ID]
        ).fetchone()[0]  # type: ignore[index]
        assert ended > starts["kemsa"] + timedelta(milliseconds=20)
        _reading(conn, "r-at-end", TRUCK, ended)
        _reading(conn, "r-after", TRUCK, ended + timedelta(seconds=1))
        _alert(conn, "a-after", TRUCK, ended + timedelta(seconds=1))
        _trip(conn, TRUCK, "T-after", ended - timedelta(microseconds=1), ended + timedelta(1))
    with connect_reader(settings) as conn, scoped(conn, SHIPPER):
        seen = _seen(conn)
        assert seen["readings"] == {"r-during-1", "r-during-2", "r-at-end"}
        assert seen["alerts"] == {"a-during"}
        assert seen["trips"] == {"T-in"}


def test_the_bridge_still_inserts_under_row_level_security(settings: Settings) -> None:
    migrate(settings, settings.database_url or "")
    conninfo = role_conninfo(
        settings.database_url or "", "bridge", role_password(settings, "bridge")
    )
    now = datetime.now().astimezone()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        _reading(conn, "r-bridge", TRUCK, now)
        _alert(conn, "a-bridge", TRUCK, now)
    assert fetch(settings, "SELECT event_id FROM readings") == [("r-bridge",)]
    assert fetch(settings, "SELECT alert_id FROM alert_changes") == [("a-bridge",)]


def test_a_tenants_token_reads_alerts_and_trips_of_its_windows_only(
    shipping: Settings, client: Any
) -> None:
    from logistream.events import Alert
    from logistream.live_views import RedisLiveViewsWriter

    tokens = prepare(shipping, dispatch=["read", "ack"])
    with psycopg.connect(shipping.database_url or "", autocommit=True) as conn:
        acme = auth(create_token(conn, "acme-desk", ["read", "ack"], "acme"))
        kemsa = auth(create_token(conn, "kemsa-desk", ["read"], SHIPPER))
        moh = auth(create_token(conn, "moh-desk", ["read"], RECEIVER))
    dispatch = auth(tokens["dispatch"])
    starts = _archive(shipping)
    # The live views hold the alerts too (one alert's detail is read from Redis).
    RedisLiveViewsWriter(client).write_batch(
        [],
        {},
        [
            Alert(
                alert_id=alert_id,
                truck_id=truck,
                rule="temp_high",
                severity="major",
                state="open",
                opened_at=at.timestamp(),
                changed_at=at.timestamp(),
                message=alert_id,
            )
            for alert_id, truck, at in (
                ("a-before", TRUCK, starts["kemsa"] - timedelta(hours=1)),
                ("a-during", TRUCK, starts["kemsa"] + timedelta(milliseconds=10)),
                ("a-acme", ACME_TRUCK, starts["acme"] + timedelta(milliseconds=10)),
            )
        ],
    )
    with api_client(shipping) as api:

        def listed(path: str, headers: dict[str, str], key: str, field: str) -> list[str]:
            answer = api.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
            return sorted(str(item[field]) for item in answer.json()[key])

        # Alert history: the truck's changes within the shipment's window only.
        assert listed("/v1/alerts", dispatch, "changes", "alert_id") == [
            "a-acme", "a-before", "a-during"
        ]  # fmt: skip
        assert listed("/v1/alerts", kemsa, "changes", "alert_id") == ["a-during"]
        assert listed("/v1/alerts", moh, "changes", "alert_id") == ["a-during"]
        assert listed("/v1/alerts", acme, "changes", "alert_id") == ["a-acme"]
        assert listed(f"/v1/alerts?truck={ACME_TRUCK}", kemsa, "changes", "alert_id") == []

        # One alert: another's, or the truck's before the window, answers as an unknown one.
        unknown = api.get("/v1/alerts/a-none", headers=kemsa).json()
        for alert_id, headers, status in (
            ("a-during", kemsa, 200), ("a-during", moh, 200), ("a-during", dispatch, 200),
            ("a-before", kemsa, 404), ("a-before", dispatch, 200), ("a-acme", kemsa, 404),
            ("a-during", acme, 404), ("a-acme", acme, 200),
        ):  # fmt: skip
            answer = api.get(f"/v1/alerts/{alert_id}", headers=headers)
            assert answer.status_code == status, (alert_id, answer.text)
            if status == 404:
                assert answer.json()["detail"] == unknown["detail"].replace("a-none", alert_id)
        # Tenants read alerts; acknowledging is the carrier's (even with the ack scope).
        refused = api.post("/v1/alerts/a-acme/ack", json={}, headers=acme)
        assert (refused.status_code, refused.json()["error"]) == (403, "shipments_only")

        # Trips: a tenant sees only those wholly within one of its windows.
        assert listed("/v1/trips", dispatch, "trips", "trip_id") == [
            "A-in", "T-across", "T-in", "T-prev"
        ]  # fmt: skip
        assert listed("/v1/trips", kemsa, "trips", "trip_id") == ["T-in"]
        assert listed("/v1/trips", moh, "trips", "trip_id") == ["T-in"]
        assert listed("/v1/trips", acme, "trips", "trip_id") == ["A-in"]
        for suffix in ("", "/readings", "/report?format=json"):
            for path, headers in (
                (f"/v1/trips/{TRUCK}/T-across{suffix}", kemsa),
                (f"/v1/trips/{TRUCK}/T-prev{suffix}", kemsa),
                (f"/v1/trips/{TRUCK}/T-in{suffix}", acme),
                (f"/v1/trips/{ACME_TRUCK}/A-in{suffix}", moh),
            ):
                answer = api.get(path, headers=headers)
                assert (answer.status_code, answer.json()["error"]) == (404, "trip_not_found"), (
                    path,
                    answer.text,
                )
        mine = api.get(f"/v1/trips/{TRUCK}/T-in", headers=kemsa)
        assert mine.status_code == 200, mine.text
        assert mine.json()["trip"]["trip_id"] == "T-in"
        assert [g["gap_start"] for g in mine.json()["gaps"]] == [
            g["gap_start"] for g in api.get(f"/v1/trips/{TRUCK}/T-in", headers=dispatch).json()[
                "gaps"]
        ]  # fmt: skip
        readings = api.get(f"/v1/trips/{TRUCK}/T-in/readings", headers=moh)
        assert readings.status_code == 200, readings.text
        assert [r["event_id"] for r in readings.json()["readings"]] == ["r-during-1", "r-during-2"]
        # The carrier: every trip and its readings, as before.
        assert api.get(f"/v1/trips/{TRUCK}/T-across", headers=dispatch).status_code == 200
        before = api.get(f"/v1/trips/{TRUCK}/T-prev/readings", headers=dispatch)
        assert [r["event_id"] for r in before.json()["readings"]] == ["r-before"]
