"""The API's live truck resources carry the operating mode the speed layer wrote to the real
Redis (``mode``: the live view's, null without one), in GET /v1/trucks/{id} and GET /v1/trucks."""

from __future__ import annotations

import time

import redis
from tests.integration.api_support import api_client, auth, prepare

from logistream.api.schemas import Fleet, Truck
from logistream.config import Settings
from logistream.events import Reading
from logistream.modes.wire import ModeRecord
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter

HELD = "KBX 123A"
FREE = "KCK 293K"


def test_the_truck_resources_carry_its_operating_mode(
    settings: Settings, client: redis.Redis
) -> None:
    now = time.time()
    mode = ModeRecord(
        mode_id="m-wash-1",
        truck_id=HELD,
        kind="washout",
        reason="after fish",
        starts_at=now - 600,
        ends_at=now + 3600,
        ended_at=now + 1800,
        set_by="cli:ann",
    )
    held = TruckState(
        truck_id=HELD,
        last=Reading(truck_id=HELD, temp=14.0, timestamp=now - 5, cargo="vaccines"),
        mode=mode,
    )
    free = TruckState(
        truck_id=FREE, last=Reading(truck_id=FREE, temp=4.0, timestamp=now - 3, cargo="vaccines")
    )
    ViewWriter(client).write_batch([held, free], {}, [])
    headers = auth(prepare(settings, reader=["read"])["reader"])
    expected = {
        "mode_id": "m-wash-1",
        "kind": "washout",
        "reason": "after fish",
        "starts_at": now - 600,
        "ends_at": now + 1800,  # ended early: the early end
        "set_by": "cli:ann",
    }
    with api_client(settings) as api:
        got = api.get(f"/v1/trucks/{HELD}", headers=headers)
        assert got.status_code == 200, got.text
        assert got.json()["mode"] == expected
        Truck.model_validate(got.json())
        other = api.get(f"/v1/trucks/{FREE}", headers=headers).json()
        assert other["mode"] is None

        fleet = api.get("/v1/trucks", headers=headers).json()
        Fleet.model_validate(fleet)
        by_id = {t["truck_id"]: t for t in fleet["trucks"]}
        assert by_id[HELD]["mode"] == expected
        assert by_id[FREE]["mode"] is None
