"""A shipment's alerts for a shipper's or receiver's token on a real PostgreSQL (Kafka and Redis
for the API in-process): ``GET /v1/shipments/{id}/alerts`` lists the archived alert changes of
the shipment's truck from its creation to its end (open while active, its cancellation once
cancelled), read through ``reads.tenancy.scoped``; another shipper's shipment answers 404 as an
unknown one, and another truck's alerts never show."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from tests.integration.api_support import api_client, auth, fetch, prepare
from tests.integration.test_api_shipments import DOCUMENT, ID
from tests.integration.test_tenancy_shipments import OTHER, SHIPPER, _acme

from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.kafka import make_admin

TRUCK = DOCUMENT["truck_id"]
ACME_TRUCK = _acme()["truck_id"]


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _archive(settings: Settings, alert_id: str, truck_id: str, at: datetime) -> None:
    """One archived 'opened' change of an alert, as the bridge writes it (owner role here)."""
    offset = int(at.timestamp() * 1000) % 1_000_000_000
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, rule, severity, "
            "opened_at, message, payload, source_partition, source_offset) "
            "VALUES (%s, 'opened', %s, %s, 'temp_high', 'major', %s, %s, %s, 0, %s)",
            [alert_id, at, truck_id, at, f"{alert_id} on {truck_id}", Jsonb({}), offset],
        )


def test_a_shipper_reads_the_alerts_of_its_shipments_truck_while_it_carries_it(
    shipping: Settings,
) -> None:
    tokens = prepare(shipping, dispatch=["read", "shipments"])
    with psycopg.connect(shipping.database_url or "", autocommit=True) as conn:
        acme = create_token(conn, "acme-desk", ["read"], "acme")
        kemsa = create_token(conn, "kemsa-desk", ["read"], SHIPPER)
    dispatch = auth(tokens["dispatch"])
    with api_client(shipping) as api:
        for document in (DOCUMENT, _acme()):
            created = api.post("/v1/shipments", json=document, headers=dispatch)
            assert created.status_code == 201, created.text
        created_at = fetch(shipping, "SELECT created_at FROM shipments WHERE shipment_id = %s",
                           [ID])[0][0]  # fmt: skip
        # Before the shipment (an earlier load on the same truck), during it, and on the
        # other shipper's truck at the same time.
        _archive(shipping, "before", TRUCK, created_at - timedelta(hours=1))
        _archive(shipping, "during-1", TRUCK, created_at + timedelta(milliseconds=10))
        _archive(shipping, "during-2", TRUCK, created_at + timedelta(milliseconds=20))
        acme_at = fetch(shipping, "SELECT created_at FROM shipments WHERE shipment_id = %s",
                        [OTHER])[0][0]  # fmt: skip
        _archive(shipping, "acme-1", ACME_TRUCK, acme_at + timedelta(milliseconds=10))

        def alerts(shipment_id: str, headers: dict[str, str], query: str = "") -> list[str]:
            answer = api.get(f"/v1/shipments/{shipment_id}/alerts{query}", headers=headers)
            assert answer.status_code == 200, answer.text
            return [c["alert_id"] for c in answer.json()["changes"]]

        assert alerts(ID, auth(kemsa)) == ["during-2", "during-1"]
        assert alerts(ID, dispatch) == ["during-2", "during-1"]  # the carrier: the same window
        assert alerts(OTHER, auth(acme)) == ["acme-1"]
        first = api.get(f"/v1/shipments/{ID}/alerts?limit=1", headers=auth(kemsa)).json()
        assert [c["alert_id"] for c in first["changes"]] == ["during-2"]
        assert first["changes"][0]["truck_id"] == TRUCK
        cursor = first["next_cursor"]
        assert alerts(ID, auth(kemsa), f"?limit=1&cursor={cursor}") == ["during-1"]

        # Another shipper's shipment answers exactly as an unknown one.
        for shipment_id, token in ((ID, acme), (OTHER, kemsa), ("SHP-NONE", kemsa)):
            answer = api.get(f"/v1/shipments/{shipment_id}/alerts", headers=auth(token))
            assert (answer.status_code, answer.json()["error"]) == (404, "shipment_not_found")
        # A cursor of another listing is refused.
        bad = api.get(f"/v1/shipments/{ID}/alerts?cursor=xyz", headers=auth(kemsa))
        assert (bad.status_code, bad.json()["error"]) == (422, "invalid_cursor")

        # Cancelled: the window closes at the cancellation; what follows is the truck's own.
        cancelled = api.post(f"/v1/shipments/{ID}/cancel", json={"reason": "test"},
                             headers=dispatch)  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text
        ended = fetch(shipping, "SELECT max(changed_at) FROM shipment_changes "
                      "WHERE shipment_id = %s", [ID])[0][0]  # fmt: skip
        _archive(shipping, "after", TRUCK, ended + timedelta(seconds=1))
        _archive(shipping, "at-end", TRUCK, ended)
        assert alerts(ID, auth(kemsa)) == ["at-end", "during-2", "during-1"]
        assert alerts(ID, dispatch) == ["at-end", "during-2", "during-1"]

    answer_rows: Any = fetch(shipping, "SELECT count(*) FROM alert_changes")
    assert answer_rows[0][0] == 6  # the owner sees every row: nothing was hidden by deleting
