"""The modes routes on a real PostgreSQL, Kafka and Redis (the app in-process): set, list, end
early, each on the compacted ``truck_modes`` topic; a loaded truck's mode waits for approval
(not on the topic), the setter's approval refused, another carrier token's approval publishes
it; and the refusals (a read-only token without the scope, a shipper's token, bad fields, an
unknown truck, a truck already in a mode), each storing nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.api_support import api_client, auth, fetch, prepare
from tests.integration.test_modes_store import _on_topic

import logistream.shipments
from logistream.api.routes.modes import Modes, ModeWritten
from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.kafka import make_admin
from logistream.registry import load_registry
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import ShipmentStore, new_record

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
LOADED = SHIPMENT.truck_id
FREE = next(t.truck_id for t in REGISTRY.trucks if t.truck_id != LOADED)
# A shipper's token is refused by the API's token check (trucks are not its routes) or, behind
# it, by the modes routes themselves.
REFUSED_TENANT = ("shipments_only", "forbidden")


@pytest.fixture
def modes(settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"topic_truck_modes": f"truck_modes.{uuid.uuid4().hex[:10]}"})
    yield own
    make_admin(own).delete_topics([own.topic_truck_modes], operation_timeout=30)


def _tokens(settings: Settings) -> dict[str, dict[str, str]]:
    tokens = prepare(settings, dispatch=["read", "shipments"], ops=["shipments"], viewer=["read"])
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('organisations')").fetchone() != (None,):
            conn.execute(
                "INSERT INTO organisations (id, name, kind) VALUES ('kemsa', 'KEMSA', 'shipper') "
                "ON CONFLICT DO NOTHING"
            )
        tokens["shipper"] = create_token(conn, "kemsa-bot", ["read", "shipments"], "kemsa")
    return {name: auth(token) for name, token in tokens.items()}


def _count(settings: Settings) -> int:
    return int(fetch(settings, "SELECT count(*) FROM truck_modes")[0][0])


def _body(reason: str = "after a fish load", hours: float = 3.0, **changes: Any) -> dict[str, Any]:
    return {"kind": "washout", "reason": reason, "ends_at": time.time() + hours * 3600, **changes}


def test_set_list_end_on_the_topic(modes: Settings) -> None:
    headers = _tokens(modes)
    with api_client(modes) as api:
        made = api.post(f"/v1/trucks/{FREE}/mode", json=_body(), headers=headers["dispatch"])
        assert made.status_code == 201, made.text
        mode = ModeWritten.model_validate(made.json())
        assert (mode.status, mode.version, mode.published) == ("active", 1, True)
        assert (mode.set_by, mode.set_source) == ("dispatch", "api")

        listed = api.get("/v1/modes", params={"truck": FREE}, headers=headers["viewer"])
        assert listed.status_code == 200, listed.text
        assert [m.mode_id for m in Modes.model_validate(listed.json()).items] == [mode.mode_id]

        again = api.post(f"/v1/trucks/{FREE}/mode", json=_body(), headers=headers["dispatch"])
        assert again.status_code == 409, again.text
        assert (again.json()["error"], again.json()["field"]) == ("mode_conflict", "truck_id")

        ended = api.delete(
            f"/v1/trucks/{FREE}/mode", params={"reason": "done early"}, headers=headers["dispatch"]
        )
        assert ended.status_code == 200, ended.text
        done = ModeWritten.model_validate(ended.json())
        assert (done.status, done.version, done.published) == ("ended", 2, True)
        assert done.ended_at is not None
        nothing = api.delete(
            f"/v1/trucks/{FREE}/mode", params={"reason": "again"}, headers=headers["dispatch"]
        )
        assert nothing.status_code == 409, nothing.text
        over = api.get("/v1/modes", params={"status": "ended"}, headers=headers["viewer"])
        assert [m.mode_id for m in Modes.model_validate(over.json()).items] == [mode.mode_id]
    first, second = _on_topic(modes)[FREE]
    assert (first.version, first.ended_at) == (1, None)
    assert second.version == 2
    assert second.ended_at == pytest.approx(done.ended_at)
    audit = fetch(
        modes,
        "SELECT action, actor, source FROM audit_log WHERE subject_id = %s ORDER BY seq",
        [mode.mode_id],
    )
    assert audit == [("set_mode", "dispatch", "api"), ("end_mode", "dispatch", "api")]


def test_a_loaded_trucks_mode_waits_for_a_second_token(modes: Settings) -> None:
    headers = _tokens(modes)
    with psycopg.connect(modes.database_url or "", autocommit=True) as conn:
        ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT), "ann")
    with api_client(modes) as api:
        made = api.post(f"/v1/trucks/{LOADED}/mode", json=_body(), headers=headers["dispatch"])
        assert made.status_code == 201, made.text
        mode = ModeWritten.model_validate(made.json())
        assert (mode.status, mode.version, mode.published) == ("pending_approval", 0, False)

        url = f"/v1/modes/{mode.mode_id}/approve"
        same = api.post(url, headers=headers["dispatch"])
        assert same.status_code == 403, same.text
        assert same.json()["field"] == "approved_by"
        no_scope = api.post(url, headers=headers["viewer"])
        assert (no_scope.status_code, no_scope.json()["missing_scope"]) == (403, "shipments")
        shipper = api.post(url, headers=headers["shipper"])
        assert shipper.status_code == 403, shipper.text
        assert shipper.json()["error"] in REFUSED_TENANT, shipper.text
        unknown = api.post("/v1/modes/mode-nope/approve", headers=headers["ops"])
        assert unknown.status_code == 404, unknown.text

        ok = api.post(url, headers=headers["ops"])
        assert ok.status_code == 200, ok.text
        approved = ModeWritten.model_validate(ok.json())
        assert (approved.status, approved.approved_by, approved.published) == (
            "active",
            "ops",
            True,
        )
        twice = api.post(url, headers=headers["ops"])
        assert (twice.status_code, twice.json()["field"]) == (409, "status")
    (record,) = _on_topic(modes)[LOADED]
    assert (record.mode_id, record.approved_by, record.set_by) == (mode.mode_id, "ops", "dispatch")


def test_refusals_store_nothing(modes: Settings) -> None:
    headers = _tokens(modes)
    url = f"/v1/trucks/{FREE}/mode"
    with api_client(modes) as api:
        viewer = api.post(url, json=_body(), headers=headers["viewer"])
        assert (viewer.status_code, viewer.json()["missing_scope"]) == (403, "shipments")
        shipper = api.post(url, json=_body(), headers=headers["shipper"])
        assert shipper.status_code == 403, shipper.text
        assert shipper.json()["error"] in REFUSED_TENANT, shipper.text
        assert "'kemsa'" in shipper.json()["detail"]
        shipper_reads = api.get("/v1/modes", headers=headers["shipper"])
        assert shipper_reads.status_code == 403, shipper_reads.text
        shipper_ends = api.delete(url, params={"reason": "x"}, headers=headers["shipper"])
        assert shipper_ends.status_code == 403, shipper_ends.text
        too_far = api.post(url, json=_body(hours=24 * 8), headers=headers["dispatch"])
        assert (too_far.status_code, too_far.json()["field"]) == (422, "ends_at")
        assert "7 days" in too_far.json()["detail"]
        past = api.post(url, json=_body(hours=-1), headers=headers["dispatch"])
        assert (past.status_code, past.json()["field"]) == (422, "ends_at")
        blank = api.post(url, json=_body(reason="   "), headers=headers["dispatch"])
        assert (blank.status_code, blank.json()["field"]) == (422, "reason")
        kind = api.post(url, json=_body(kind="party"), headers=headers["dispatch"])
        assert kind.status_code == 422, kind.text
        truck = api.post("/v1/trucks/NOPE/mode", json=_body(), headers=headers["dispatch"])
        assert (truck.status_code, truck.json()["error"]) == (404, "truck_not_found")
        no_token = api.post(url, json=_body())
        assert no_token.status_code == 401
    assert _count(modes) == 0
