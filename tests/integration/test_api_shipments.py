"""/v1/shipments on a real PostgreSQL, Kafka and Redis (the app in-process, its lifespan opening
real connections): create → get → list filtered and paged → stage override → cancel, each
change in the change log under the token's name and its record on the compacted ``shipments``
topic; the live state the speed layer wrote to Redis; the refusals (a read-only token cannot
create; an unknown cargo profile is a 422 naming the field; a second active shipment on a truck
and a duplicate id are 409s, nothing stored); and a Kafka outage after the commit (202 with a
warning, the change stored, sent by the next API start)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from tests.helpers import wait_until
from tests.integration.api_support import api_client, auth, fetch, prepare

import logistream.shipments
from logistream.api.shipment_schemas import Shipment, Shipments, ShipmentWritten
from logistream.config import Settings
from logistream.kafka import make_admin, make_consumer
from logistream.live_views import RedisLiveViewsWriter, ShipmentLive, StopEtaView
from logistream.registry import load_registry
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.wire import ShipmentRecord, decode_record, to_document

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
DOCUMENT = to_document(load_shipment_file(EXAMPLE, REGISTRY))
ID = DOCUMENT["shipment_id"]
TRUCK = DOCUMENT["truck_id"]


@pytest.fixture
def shipping(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a shipments topic of its own, deleted afterwards."""
    own = settings.model_copy(update={"topic_shipments": f"shipments.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_shipments], operation_timeout=30)


def _on_topic(settings: Settings, timeout_s: float = 30.0) -> dict[str, ShipmentRecord]:
    """The latest record per key on the shipments topic, read from the beginning."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    topic = settings.topic_shipments
    consumer = make_consumer(settings, f"test-api-shipments.{uuid.uuid4().hex}")
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p))[1] for p in partitions}
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


def _other(shipment_id: str, **changes: Any) -> dict[str, Any]:
    return {**DOCUMENT, "shipment_id": shipment_id, "reference": f"REF-{shipment_id}", **changes}


def _stored(settings: Settings, shipment_id: str) -> int:
    return int(fetch(settings, "SELECT count(*) FROM shipments WHERE shipment_id = %s",
                     [shipment_id])[0][0])  # fmt: skip


def test_create_read_list_override_cancel_and_the_refusals(shipping: Settings) -> None:
    tokens = prepare(shipping, dispatch=["read", "shipments"], viewer=["read"])
    writer, reader = auth(tokens["dispatch"]), auth(tokens["viewer"])
    with api_client(shipping) as api:
        # A read-only token cannot create.
        refused = api.post("/v1/shipments", json=DOCUMENT, headers=reader)
        assert refused.status_code == 403, refused.text
        assert refused.json()["missing_scope"] == "shipments"
        assert _stored(shipping, ID) == 0

        # An unknown cargo profile: one line naming the field; nothing stored.
        bad = api.post("/v1/shipments", json={**DOCUMENT, "cargo": "plutonium"}, headers=writer)
        assert bad.status_code == 422, bad.text
        body = bad.json()
        assert (body["error"], body["field"]) == ("invalid_shipment", "cargo")
        assert body["detail"].startswith("cargo: unknown cargo profile 'plutonium'; use one of")
        assert "\n" not in body["detail"]
        assert _stored(shipping, ID) == 0

        created = api.post("/v1/shipments", json=DOCUMENT, headers=writer)
        assert created.status_code == 201, created.text
        record = ShipmentWritten.model_validate(created.json())
        assert (record.status, record.version, record.published) == ("active", 1, True)
        assert record.document.model_dump(mode="json", exclude_none=True) == DOCUMENT
        assert [(c.change, c.by) for c in record.changes] == [("created", "dispatch")]
        assert record.live is None

        # A second active shipment on the truck, and the same id again: 409, nothing stored.
        second = api.post("/v1/shipments", json=_other("SHP-2"), headers=writer)
        assert second.status_code == 409, second.text
        assert (second.json()["error"], second.json()["field"]) == (
            "truck_has_active_shipment",
            "truck_id",
        )
        assert f"already carries active shipment {ID!r}" in second.json()["detail"]
        assert _stored(shipping, "SHP-2") == 0
        again = api.post("/v1/shipments", json=DOCUMENT, headers=writer)
        assert (again.status_code, again.json()["error"]) == (409, "shipment_exists")

        # The live state the speed layer writes, shown with the record and behind ?stage=.
        live = ShipmentLive(
            shipment_id=ID, truck_id=TRUCK, stage="at_origin", stop=0, since=1.8e9,
            updated_at=1.8e9 + 60, etas=(StopEtaView(1, 1.8e9 + 7200, 120.5, False),),
        )  # fmt: skip
        client = redis.Redis.from_url(shipping.redis_url or "")
        RedisLiveViewsWriter(client).write_batch([], {}, [], shipments=[live])
        got = api.get(f"/v1/shipments/{ID}", headers=reader)
        assert got.status_code == 200, got.text
        shown = Shipment.model_validate(got.json())
        assert shown.live is not None
        assert shown.live.stage == "at_origin"
        assert got.json()["live"]["etas"] == [
            {"stop": 1, "eta": 1.8e9 + 7200, "km_left": 120.5, "late": False}
        ]
        assert api.get("/v1/shipments/SHP-none", headers=reader).status_code == 404

        # A stage override: the stop is needed when the stage fits several.
        vague = api.post(f"/v1/shipments/{ID}/stage", headers=writer,
                         json={"stage": "at_stop", "reason": "GPS lost in the yard"})  # fmt: skip
        assert (vague.status_code, vague.json()["field"]) == (422, "stop"), vague.text
        wrong = api.post(f"/v1/shipments/{ID}/stage", headers=writer,
                         json={"stage": "at_stop", "stop": 0, "reason": "x"})  # fmt: skip
        assert (wrong.status_code, wrong.json()["field"]) == (422, "stop"), wrong.text
        change = {"stage": "at_stop", "stop": 1, "reason": "GPS lost in the yard"}
        moved = api.post(f"/v1/shipments/{ID}/stage", headers=writer, json=change)
        assert moved.status_code == 200, moved.text
        after = ShipmentWritten.model_validate(moved.json())
        assert after.version == 2
        assert after.override is not None
        assert (after.override.stage, after.override.stop, after.override.by) == (
            "at_stop", 1, "dispatch"
        )  # fmt: skip
        assert after.changes[-1].change == "stage_overridden"
        assert after.changes[-1].reason == "GPS lost in the yard"

        # Cancel; the truck is free again for a new shipment.
        cancelled = api.post(f"/v1/shipments/{ID}/cancel", headers=writer,
                             json={"reason": "reefer failed before loading"})  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text
        assert (cancelled.json()["status"], cancelled.json()["version"]) == ("cancelled", 3)
        twice = api.post(f"/v1/shipments/{ID}/cancel", headers=writer, json={"reason": "again"})
        assert (twice.status_code, twice.json()["error"]) == (409, "shipment_not_active")
        assert api.post(f"/v1/shipments/{ID}/cancel", headers=reader,
                        json={"reason": "x"}).status_code == 403  # fmt: skip
        replaced = api.post("/v1/shipments", json=_other("SHP-2"), headers=writer)
        assert replaced.status_code == 201, replaced.text

        # The list: filters, the live stage, and keyset pages (newest first).
        def listed(query: str) -> list[str]:
            answer = api.get(f"/v1/shipments?{query}", headers=reader)
            assert answer.status_code == 200, answer.text
            return [s.shipment_id for s in Shipments.model_validate(answer.json()).shipments]

        assert listed("") == ["SHP-2", ID]
        assert listed("status=active") == ["SHP-2"]
        assert listed("status=cancelled&shipper=kemsa") == [ID]
        assert listed("receiver=nobody") == []
        assert listed(f"truck={TRUCK}&stage=at_origin") == [ID]
        assert listed("stage=in_transit") == []
        first = api.get("/v1/shipments?limit=1", headers=reader).json()
        assert [s["shipment_id"] for s in first["shipments"]] == ["SHP-2"]
        rest = api.get(f"/v1/shipments?limit=1&cursor={first['next_cursor']}", headers=reader)
        assert [s["shipment_id"] for s in rest.json()["shipments"]] == [ID]
        assert rest.json()["next_cursor"] is None

    # Every change reached the compacted topic: the latest record per shipment.
    on_topic = _on_topic(shipping)
    assert (on_topic[ID].status, on_topic[ID].version) == ("cancelled", 3)
    assert on_topic[ID].override is not None
    assert on_topic[ID].override.by == "dispatch"
    assert (on_topic["SHP-2"].status, on_topic["SHP-2"].version) == ("active", 1)
    assert fetch(shipping, "SELECT shipment_id, published_version FROM shipments ORDER BY 1") == [
        ("SHP-2", 1), (ID, 3)
    ]  # fmt: skip


def test_a_kafka_outage_after_the_commit_answers_202_and_the_next_start_publishes(
    shipping: Settings,
) -> None:
    tokens = prepare(shipping, dispatch=["read", "shipments"])
    writer = auth(tokens["dispatch"])
    # Nothing listens on port 9: Kafka is out of reach for this API process only.
    cut_off = shipping.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})
    with api_client(cut_off, kafka_timeout_s=3) as api:
        created = api.post("/v1/shipments", json=DOCUMENT, headers=writer)
        assert created.status_code == 202, created.text
        body = ShipmentWritten.model_validate(created.json())
        assert body.published is False
        assert body.warning is not None
        assert "stored but not yet on Kafka" in body.warning
        assert (body.status, body.version) == ("active", 1)
    assert fetch(shipping, "SELECT version, published_version FROM shipments") == [(1, 0)]

    # The next start of the API sends what is pending, without any request.
    with api_client(shipping):

        def published() -> bool:
            return fetch(shipping, "SELECT published_version FROM shipments") == [(1,)]

        wait_until(published, timeout=60, what="the pending shipment published at start")
    assert _on_topic(shipping)[ID].version == 1
