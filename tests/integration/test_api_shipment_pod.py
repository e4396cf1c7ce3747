"""Proof of delivery and the shipment report through /v1/shipments, on a real PostgreSQL, Kafka
and Redis (the app in-process): an API token acts for an organisation (``logistream api token
create NAME --organisation ORG``, migration 0032); only a token of the shipment's receiver
signs for a lot, with the CLI's one-line refusals (403 another organisation or none, 422 an
unknown stop or a lot handed over elsewhere, 409 a lot already signed or a shipment no longer
active), nothing stored when refused; the GET shows the PoDs with their temperature summary, the
record on the ``shipments`` topic carries them, and the last lot signed makes it delivered. The
report route hands out the report as the CLI makes it (PDF, CSV, JSON; a version issued when
what it shows changed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from tests.integration.api_support import api_client, auth, fetch, prepare, run_api_cli
from tests.integration.test_api_shipments import DOCUMENT, ID, REGISTRY, _on_topic

from logistream.api.shipment_schemas import Shipment, ShipmentWritten
from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.kafka import make_admin

RECEIVER = DOCUMENT["receiver"]["id"]  # moh-western
SHIPPER = DOCUMENT["shipper"]["id"]  # kemsa


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a shipments topic of its own, deleted afterwards."""
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _pods_stored(settings: Settings) -> list[tuple[str, str, str]]:
    rows = fetch(settings, "SELECT lot_number, decision, recorded_by FROM shipment_pod "
                           "WHERE shipment_id = %s ORDER BY lot_number", [ID])  # fmt: skip
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _pod(stop: str, lot: str, decision: str = "accepted", note: str = "") -> dict[str, str]:
    return {"stop": stop, "lot": lot, "decision": decision, "name": "Achieng Otieno", "note": note}


def test_a_receivers_token_signs_for_lots_and_the_others_are_refused(
    shipping: Settings, settings_env: dict[str, str]
) -> None:
    tokens = prepare(shipping, dispatch=["read", "shipments"], viewer=["read"])
    assert shipping.database_url
    with psycopg.connect(shipping.database_url, autocommit=True) as conn:
        clerk = create_token(conn, "moh-clerk", ["read", "shipments"], RECEIVER)
        shipper = create_token(conn, "kemsa-desk", ["shipments"], SHIPPER)
    dispatch, viewer = auth(tokens["dispatch"]), auth(tokens["viewer"])
    url = f"/v1/shipments/{ID}/pod"
    with api_client(shipping) as api:
        assert api.post("/v1/shipments", json=DOCUMENT, headers=dispatch).status_code == 201

        # Refused, nothing stored: the operator's token (no organisation), the shipper's token,
        # a read-only token.
        operator = api.post(url, json=_pod("kisumu-depot", "MR-2611"), headers=dispatch)
        assert operator.status_code == 403, operator.text
        body = operator.json()
        assert (body["error"], body["field"]) == ("not_receiver", "organisation")
        assert body["detail"].startswith(
            "organisation: 'dispatch' belongs to the fleet operator's staff, not the receiver "
            f"'{RECEIVER}'"
        )
        assert "\n" not in body["detail"]
        other = api.post(url, json=_pod("kisumu-depot", "MR-2611"), headers=auth(shipper))
        assert other.status_code == 403, other.text
        assert f"organisation '{SHIPPER}', not the receiver" in other.json()["detail"]
        read_only = api.post(url, json=_pod("kisumu-depot", "MR-2611"), headers=viewer)
        assert (read_only.status_code, read_only.json()["missing_scope"]) == (403, "shipments")

        # The receiver's token: an unknown stop, an unknown lot, a lot dropped elsewhere: 422.
        signer = auth(clerk)
        stop = api.post(url, json=_pod("eldoret", "MR-2611"), headers=signer)
        assert (stop.status_code, stop.json()["field"]) == (422, "stop_id"), stop.text
        assert stop.json()["detail"].startswith(f"stop_id: no stop 'eldoret' on shipment '{ID}'")
        lot = api.post(url, json=_pod("kisumu-depot", "XX-1"), headers=signer)
        assert (lot.status_code, lot.json()["field"]) == (422, "lot"), lot.text
        elsewhere = api.post(url, json=_pod("kisumu-depot", "MR-2612"), headers=signer)
        assert (elsewhere.status_code, elsewhere.json()["field"]) == (422, "lot")
        assert (
            "is not dropped at 'kisumu-depot' but at 'kakamega-depot'"
            in (elsewhere.json()["detail"])
        )
        unknown = api.post(
            "/v1/shipments/SHP-NONE/pod", json=_pod("kisumu-depot", "MR-2611"), headers=signer
        )
        assert (unknown.status_code, unknown.json()["error"]) == (404, "shipment_not_found")
        assert _pods_stored(shipping) == []

        # Signed: the record, its change log and the GET show the PoD under the token's name.
        signed = api.post(
            url, json=_pod("kisumu-depot", "MR-2611", note="cold boxes intact"), headers=signer
        )
        assert signed.status_code == 200, signed.text
        record = ShipmentWritten.model_validate(signed.json())
        assert (record.status, record.version, record.published) == ("active", 2, True)
        assert [(c.change, c.by) for c in record.changes][-1] == ("pod_recorded", "moh-clerk")
        [pod] = record.pods
        assert (pod.stop, pod.stop_id, pod.lot, pod.decision, pod.by, pod.name, pod.note) == (
            1, "kisumu-depot", "MR-2611", "accepted", "moh-clerk", "Achieng Otieno",
            "cold boxes intact",
        )  # fmt: skip
        assert pod.temperature is not None
        assert pod.temperature.readings == 0  # no readings archived in this test
        assert _pods_stored(shipping) == [("MR-2611", "accepted", "moh-clerk")]
        shown = Shipment.model_validate(api.get(f"/v1/shipments/{ID}", headers=viewer).json())
        assert shown.pods == record.pods

        # Signed once: the same lot again is a 409, nothing more stored.
        again = api.post(url, json=_pod("kisumu-depot", "MR-2611", "rejected"), headers=signer)
        assert (again.status_code, again.json()["error"]) == (409, "lot_already_signed")
        assert "was already accepted by moh-clerk" in again.json()["detail"]

        # Every other lot signed (one rejected): delivered; after that, 409 not active.
        for stop_id, number, decision in [
            ("kisumu-depot", "DIL-0907", "accepted"),
            ("kakamega-depot", "MR-2612", "rejected"),
            ("bungoma-depot", "MR-2613", "accepted"),
        ]:
            answer = api.post(url, json=_pod(stop_id, number, decision), headers=signer)
            assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "delivered"
        late = api.post(url, json=_pod("kisumu-depot", "DIL-0907"), headers=signer)
        assert (late.status_code, late.json()["error"]) == (409, "shipment_not_active")

    on_topic = _on_topic(shipping)[ID]
    assert on_topic.status == "delivered"
    assert sorted((p.lot, p.decision, p.by) for p in on_topic.pods) == [
        ("DIL-0907", "accepted", "moh-clerk"),
        ("MR-2611", "accepted", "moh-clerk"),
        ("MR-2612", "rejected", "moh-clerk"),
        ("MR-2613", "accepted", "moh-clerk"),
    ]

    # The CLI: --organisation stored and listed; a malformed one refused, nothing stored.
    created = run_api_cli(
        settings_env, "token", "create", "moh-gate", "--scope", "shipments",
        "--organisation", RECEIVER,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert f"organisation '{RECEIVER}'" in created.stderr
    bad = run_api_cli(
        settings_env, "token", "create", "bad", "--scope", "shipments", "--organisation", "a b"
    )
    assert bad.returncode != 0
    assert "--organisation 'a b'" in bad.stderr
    assert fetch(shipping, "SELECT name, organisation FROM api_tokens WHERE name IN "
                           "('moh-gate', 'bad')") == [("moh-gate", RECEIVER)]  # fmt: skip
    listed = run_api_cli(settings_env, "token", "list")
    assert f"organisation {RECEIVER}" in listed.stdout


def test_the_report_route_hands_out_the_latest_issued_version(shipping: Settings) -> None:
    from logistream.batch.reports.shipment import issue_for
    from logistream.batch.reports.shipment_render import render_shipment

    tokens = prepare(shipping, dispatch=["read", "shipments"])
    who = auth(tokens["dispatch"])
    url = f"/v1/shipments/{ID}/report"
    with api_client(shipping) as api:
        assert api.post("/v1/shipments", json=DOCUMENT, headers=who).status_code == 201
        unknown = api.get("/v1/shipments/SHP-NONE/report", headers=who)
        assert (unknown.status_code, unknown.json()["error"]) == (404, "shipment_not_found")

        # The first request issues version 1; the CLI then finds it unchanged.
        got = api.get(url, params={"format": "json"}, headers=who)
        assert got.status_code == 200, got.text
        assert got.headers["x-report-version"] == "1"
        assert f"shipment-{ID}-v1.json" in got.headers["content-disposition"]
        assert shipping.database_url
        with psycopg.connect(shipping.database_url, autocommit=True) as conn:
            content = issue_for(conn, REGISTRY, ID)
        assert content["version"] == 1
        assert got.content == render_shipment(content, "json")  # the CLI's bytes

        pdf = api.get(url, headers=who)  # PDF unless asked otherwise, as trip reports
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["x-report-version"] == "1"
        csv = api.get(url, params={"format": "csv"}, headers=who)
        assert csv.status_code == 200
        assert ID in csv.text
