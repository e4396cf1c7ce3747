"""Tenancy of shipments on a real PostgreSQL (and Kafka and Redis for the API in-process):
row-level security for the reader role (migration 0054) through ``reads.tenancy.scoped``; the
API's shipment routes for a shipper's token (another's shipment answers as an unknown one: 404
on get, report, PoD, cancel and stage, absent from the list), its other routes refused (403),
its live stream's shipment filter; and organisations (migration 0023) for dashboard accounts:
the carrier by default, an unknown organisation refused, an account without one refused at
sign-in with how to set it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.api_support import api_client, auth, fetch, prepare
from tests.integration.test_api_shipments import DOCUMENT, ID, REGISTRY

from logistream.api.routes.stream import tenant_shipments
from logistream.api.shipment_input import read_shipment
from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.kafka import make_admin
from logistream.reads.connect import connect_reader
from logistream.reads.tenancy import scoped, visible_shipments
from logistream.schema.migrate import migrate
from logistream.serving import users
from logistream.serving.auth import AuthError
from logistream.shipments.store import ShipmentStore, new_record

OTHER = "SHP-ACME-1"
TABLES = (
    "shipments", "shipment_lots", "shipment_stops", "shipment_changes", "shipment_pod",
    "shipment_report_versions", "lot_releases",
)  # fmt: skip
SHIPPER = DOCUMENT["shipper"]["id"]  # kemsa
RECEIVER = DOCUMENT["receiver"]["id"]  # moh-western


def _acme() -> dict[str, Any]:
    """A second shipment, of another shipper and receiver, on another truck (its one probe)."""
    return {
        **{key: value for key, value in DOCUMENT.items() if key != "probes"},
        "shipment_id": OTHER,
        "reference": "ACME-77",
        "truck_id": "KCA 452B",
        "shipper": {"id": "acme", "name": "Acme Foods"},
        "receiver": {"id": "dairy-rx", "name": "Dairy Receivers"},
    }


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _store_both(settings: Settings) -> None:
    """Both shipments, with a row in every shipments table, written as the owner."""
    from logistream.shipments.releases import record_release

    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        for document in (DOCUMENT, _acme()):
            shipment = read_shipment(document, REGISTRY)
            store.create(new_record(shipment), "test")
            lot = shipment.lots[0].number
            stop = next(i for i, s in enumerate(shipment.stops) if lot in s.drops)
            conn.execute(
                "INSERT INTO shipment_pod (shipment_id, lot_number, stop_index, stop_id, "
                "decision, recorded_by, signer_name, organisation, signed_at, temperature, "
                "version) VALUES (%s, %s, %s, %s, 'accepted', 'w', 'W O', %s, now(), '{}', 1)",
                [shipment.shipment_id, lot, stop, shipment.stops[stop].stop_id,
                 shipment.receiver.org_id],
            )  # fmt: skip
            conn.execute(
                "INSERT INTO shipment_report_versions (shipment_id, version, digest, "
                "digest_format, readings, verdict, content) "
                "VALUES (%s, 1, 'x', 'logistream-readings-v1', 0, 'pass', '{}')",
                [shipment.shipment_id],
            )
            record_release(conn, shipment.shipment_id, lot, "released", "qm", "checked")


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return {
        table: int(conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()[0])  # type: ignore[index]
        for table in TABLES
    }


def test_the_reader_sees_the_shipments_of_its_organisation_only(settings: Settings) -> None:
    migrate(settings, settings.database_url or "")
    _store_both(settings)
    owner_sees = {
        table: int(fetch(settings, f"SELECT count(*) FROM {table}")[0][0]) for table in TABLES
    }
    assert all(n >= 2 for n in owner_sees.values()), owner_sees  # the owner is not subject to it
    with connect_reader(settings) as conn:
        # No organisation set: nothing at all (fail closed).
        assert _counts(conn) == dict.fromkeys(TABLES, 0)
        with scoped(conn, "carrier"):
            assert _counts(conn) == owner_sees
        for organisation, expected in (
            (SHIPPER, {ID}), (RECEIVER, {ID}), ("acme", {OTHER}), ("dairy-rx", {OTHER}),
            ("nobody", set()),
        ):  # fmt: skip
            with scoped(conn, organisation):
                for table in TABLES:
                    rows = conn.execute(f"SELECT shipment_id FROM {table}".encode()).fetchall()
                    assert {r[0] for r in rows} == expected, (organisation, table)
            assert visible_shipments(conn, organisation, [ID, OTHER, "SHP-NONE"]) == expected
        # The setting ended with its transaction: the connection reads nothing again.
        assert _counts(conn) == dict.fromkeys(TABLES, 0)
        with pytest.raises(ValueError, match="an organisation id is needed"), scoped(conn, ""):
            pass


def test_a_shippers_token_reads_its_shipments_and_no_one_elses(shipping: Settings) -> None:
    tokens = prepare(shipping, dispatch=["read", "shipments"])
    with psycopg.connect(shipping.database_url or "", autocommit=True) as conn:
        acme = create_token(conn, "acme-desk", ["read", "shipments"], "acme")
        kemsa = create_token(conn, "kemsa-desk", ["read"], SHIPPER)
    dispatch = auth(tokens["dispatch"])
    with api_client(shipping) as api:
        for document in (DOCUMENT, _acme()):
            created = api.post("/v1/shipments", json=document, headers=dispatch)
            assert created.status_code == 201, created.text

        # The carrier's token (no organisation) lists both; each shipper its own.
        def listed(headers: dict[str, str]) -> list[str]:
            answer = api.get("/v1/shipments", headers=headers)
            assert answer.status_code == 200, answer.text
            return sorted(s["shipment_id"] for s in answer.json()["shipments"])

        assert listed(dispatch) == sorted([ID, OTHER])
        assert listed(auth(acme)) == [OTHER]
        assert listed(auth(kemsa)) == [ID]
        assert (
            api.get(f"/v1/shipments?shipper={SHIPPER}", headers=auth(acme)).json()["shipments"]
            == []
        )
        assert api.get(f"/v1/shipments/{OTHER}", headers=auth(acme)).status_code == 200
        assert api.get(f"/v1/shipments/{ID}", headers=auth(kemsa)).status_code == 200

        # Another shipper's shipment answers exactly as one that does not exist.
        unknown = api.get("/v1/shipments/SHP-NONE", headers=auth(acme))
        assert unknown.status_code == 404
        theirs = api.get(f"/v1/shipments/{ID}", headers=auth(acme))
        assert (theirs.status_code, theirs.json()["error"]) == (404, "shipment_not_found")
        assert theirs.json()["detail"] == unknown.json()["detail"].replace("SHP-NONE", ID)
        pod = {"stop": "kisumu-depot", "lot": "MR-2611", "decision": "accepted", "name": "A"}
        for method, path, body in (
            ("GET", f"/v1/shipments/{ID}/report?format=json", None),
            ("POST", f"/v1/shipments/{ID}/pod", pod),
            ("POST", f"/v1/shipments/{ID}/cancel", {"reason": "not mine"}),
            ("POST", f"/v1/shipments/{ID}/stage", {"stage": "in_transit", "reason": "no"}),
        ):
            answer = api.request(method, path, json=body, headers=auth(acme))
            assert (answer.status_code, answer.json()["error"]) == (404, "shipment_not_found"), (
                path,
                answer.text,
            )
        assert fetch(shipping, "SELECT status, version FROM shipments WHERE shipment_id = %s",
                     [ID]) == [("active", 1)]  # fmt: skip
        assert fetch(shipping, "SELECT count(*) FROM shipment_report_versions")[0][0] == 0
        # Its own report is handed out.
        mine = api.get(f"/v1/shipments/{OTHER}/report?format=json", headers=auth(acme))
        assert mine.status_code == 200, mine.text

        # A shipper's token creates shipments only as their shipper.
        forged_document = {**_acme(), "shipment_id": "SHP-F", "truck_id": "KCD 219D",
                           "shipper": DOCUMENT["shipper"]}  # fmt: skip
        forged = api.post("/v1/shipments", json=forged_document, headers=auth(acme))
        assert (forged.status_code, forged.json()["error"]) == (403, "not_shipper"), forged.text

        # Setting a truck's mode and the pipeline are the carrier's: refused, in one line
        # (trucks, alerts and trips are scoped: test_tenancy_live.py, test_tenancy_archive.py).
        for method, path in (("POST", f"/v1/trucks/{DOCUMENT['truck_id']}/mode"),
                             ("GET", "/v1/pipeline")):  # fmt: skip
            refused = api.request(method, path, json={}, headers=auth(acme))
            assert (refused.status_code, refused.json()["error"]) == (403, "shipments_only"), path
            assert "a shipper's token reads its shipments" in refused.json()["detail"]
        assert api.get("/v1/trucks", headers=dispatch).status_code == 200

        # The live stream's one filter: another's shipment state is never read out.
        backends = api.app.state.backends  # type: ignore[attr-defined]
        read = tenant_shipments(backends, "acme", lambda shipment_id: shipment_id)  # type: ignore[arg-type,return-value]
        assert (read(OTHER), read(ID), read("SHP-NONE")) == (OTHER, None, None)

        # Its receiver sees the shipment but neither sets its stage nor cancels it; its shipper
        # does both (shipments.parties).
        with psycopg.connect(shipping.database_url or "", autocommit=True) as conn:
            receiver = create_token(conn, "moh-desk", ["read", "shipments"], RECEIVER)
            shipper = create_token(conn, "kemsa-ops", ["read", "shipments"], SHIPPER)
        stage = {"stage": "in_transit", "stop": 0, "reason": "left the depot"}
        for path, body in ((f"/v1/shipments/{ID}/stage", stage),
                           (f"/v1/shipments/{ID}/cancel", {"reason": "not ours"})):  # fmt: skip
            refused = api.post(path, json=body, headers=auth(receiver))
            assert (refused.status_code, refused.json()["error"]) == (403, "not_shipper"), path
            assert refused.json()["detail"] == (
                f"The token 'moh-desk': {RECEIVER} is not the shipper of {ID} ({SHIPPER}): its "
                "shipper or the carrier cancels it or sets its stage."
            )
        assert fetch(shipping, "SELECT status, version FROM shipments WHERE shipment_id = %s",
                     [ID]) == [("active", 1)]  # fmt: skip
        staged = api.post(f"/v1/shipments/{ID}/stage", json=stage, headers=auth(shipper))
        assert staged.status_code in (200, 202), staged.text
        cancelled = api.post(f"/v1/shipments/{ID}/cancel", json={"reason": "call off"},
                             headers=auth(shipper))  # fmt: skip
        assert cancelled.status_code in (200, 202), cancelled.text
        assert fetch(shipping, "SELECT status FROM shipments WHERE shipment_id = %s",
                     [ID]) == [("cancelled",)]  # fmt: skip


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logistream", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_organisations_of_accounts_and_the_sign_in_refusal(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    migrate(settings, settings.database_url or "")
    password = "a long enough password"
    with users.connect(settings.database_url or "") as conn:
        # The carrier exists from the migration; a new account is the carrier's by default.
        assert [(o.org_id, o.kind) for o in users.list_organisations(conn)] == [
            ("carrier", "carrier")
        ]
        assert users.add_user(conn, "ann", "dispatcher", password).organisation == "carrier"
        # An organisation must exist before an account names it.
        with pytest.raises(AuthError, match=r"organisation 'kemsa' does not exist; add it first"):
            users.add_user(conn, "kem", "viewer", password, "kemsa")
        assert [u.name for u in users.list_users(conn)] == ["ann"]
        with pytest.raises(AuthError, match="kind 'carrier': choose shipper or receiver"):
            users.add_organisation(conn, "carrier2", "carrier")

    # The CLI: orgs add and list; users add --organisation; an unknown one refused in one line.
    refused = _cli(settings_env, "users", "add", "kem", "--organisation", "kemsa",
                   "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("logistream: organisation 'kemsa' does not exist")
    assert len(refused.stderr.strip().splitlines()) == 1
    added = _cli(settings_env, "orgs", "add", "kemsa", "--kind", "shipper", "--name", "KEMSA")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "organisation kemsa added (shipper, KEMSA)"
    again = _cli(settings_env, "users", "add", "kem", "--organisation", "kemsa",
                 "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "user kem added (viewer, kemsa)"
    listed = _cli(settings_env, "orgs", "list")
    assert [line.split() for line in listed.stdout.splitlines()] == [
        ["carrier", "carrier", "The", "carrier"], ["kemsa", "shipper", "KEMSA"]
    ]  # fmt: skip

    # An account without an organisation (only by hand in SQL) is refused at sign-in, with how
    # to set it; a wrong password still says nothing more than "wrong".
    with users.connect(settings.database_url or "") as conn:
        assert users.authenticate(conn, "kem", password) == users.User("kem", "viewer", "kemsa")
        conn.execute("UPDATE users SET organisation = NULL WHERE name = 'kem'")
        assert users.authenticate(conn, "kem", "wrong password!") is None
        with pytest.raises(AuthError) as caught:
            users.authenticate(conn, "kem", password)
        assert str(caught.value) == (
            "user 'kem' has no organisation: an admin sets it with "
            "`logistream users set-organisation kem ORG` (`carrier` for the fleet's staff)"
        )
    moved = _cli(settings_env, "users", "set-organisation", "kem", "nowhere")
    assert moved.returncode == 2
    assert "organisation 'nowhere' does not exist" in moved.stderr
    moved = _cli(settings_env, "users", "set-organisation", "kem", "kemsa")
    assert (moved.returncode, moved.stdout.strip()) == (0, "user kem now of kemsa")
    with users.connect(settings.database_url or "") as conn:
        assert users.authenticate(conn, "kem", password) == users.User("kem", "viewer", "kemsa")


def test_a_shippers_live_stream_carries_its_shipments_only(
    settings: Settings, settings_env: dict[str, str], client: Any, tmp_path: Path
) -> None:
    import threading

    import httpx
    from tests.integration.api_support import api_server, sse_events

    from logistream.live_views import RedisLiveViewsWriter, ShipmentLive
    from logistream.stack.process import free_port

    migrate(settings, settings.database_url or "")
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        for document in (DOCUMENT, _acme()):
            store.create(new_record(read_shipment(document, REGISTRY)), "test")
        acme = create_token(conn, "acme-desk", ["read"], "acme")
    writer = RedisLiveViewsWriter(client)

    def live(shipment_id: str, truck_id: str, at: float) -> ShipmentLive:
        return ShipmentLive(
            shipment_id=shipment_id, truck_id=truck_id, stage="in_transit", stop=0,
            since=at - 600, updated_at=at, etas=(),
        )  # fmt: skip

    with api_server(settings_env, free_port(), tmp_path / "api.log") as base:
        collected: list[dict[str, Any]] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{base}/v1/stream", headers=auth(acme), timeout=60
            ) as response:
                assert response.status_code == 200
                collected.extend(
                    sse_events(response.iter_lines(), lambda ev: len(ev) >= 3, timeout_s=45)
                )

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        at = 1.8e9
        while listener.is_alive() and at < 1.8e9 + 40:
            at += 1
            # Kemsa's shipment first each time: were it not filtered, it would come first.
            writer.write_batch([], {}, [], shipments=[live(ID, DOCUMENT["truck_id"], at)])
            writer.write_batch([], {}, [], shipments=[live(OTHER, _acme()["truck_id"], at)])
            listener.join(1.5)
        assert not listener.is_alive(), "the stream sent fewer than 3 shipment updates"
    assert [(e["event"], e["json"]["shipment_id"]) for e in collected] == [("shipment", OTHER)] * 3
