"""The API's live truck resources on a truck with several probes: each probe's newest
temperature (``probes``), as the speed layer wrote it to the real Redis; a single-probe truck
has an empty list and the rest of its body as before."""

from __future__ import annotations

import time

import redis
from tests.integration.api_support import api_client, auth, prepare

from logistream.api.schemas import Fleet, Truck
from logistream.config import Settings
from logistream.events import Reading
from logistream.speed.state import ProbeAir, TruckState
from logistream.speed.views import ViewWriter

TWO = "KBX 123A"
ONE = "KCK 293K"


def _place(client: redis.Redis, now: float) -> None:
    def r(truck: str, temp: float, ts: float, probe_id: str | None) -> Reading:
        return Reading(truck_id=truck, temp=temp, timestamp=ts, probe_id=probe_id, cargo="vaccines")

    two = TruckState(
        truck_id=TWO,
        last=r(TWO, 5.1, now - 5, "rear"),
        probes={
            "front": ProbeAir(last=r(TWO, 4.8, now - 5, "front")),
            "rear": ProbeAir(last=r(TWO, 5.1, now - 5, "rear")),
        },
    )
    one = TruckState(truck_id=ONE, last=r(ONE, 3.9, now - 3, None))
    ViewWriter(client).write_batch([two, one], {}, [])


def test_live_truck_resources_carry_each_probes_temperature(
    settings: Settings, client: redis.Redis
) -> None:
    now = time.time()
    _place(client, now)
    headers = auth(prepare(settings, reader=["read"])["reader"])
    with api_client(settings) as api:
        got = api.get(f"/v1/trucks/{TWO}", headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["probes"] == [
            {"probe_id": "front", "temp": 4.8, "timestamp": now - 5},
            {"probe_id": "rear", "temp": 5.1, "timestamp": now - 5},
        ]
        assert body["reading"]["probe_id"] == "rear"
        Truck.model_validate(body)

        single = api.get(f"/v1/trucks/{ONE}", headers=headers).json()
        assert single["probes"] == []
        assert single["reading"]["temp"] == 3.9
        assert single["reading"].get("probe_id") is None

        fleet = api.get("/v1/trucks", headers=headers).json()
        Fleet.model_validate(fleet)
        by_id = {t["truck_id"]: t for t in fleet["trucks"]}
        assert [p["probe_id"] for p in by_id[TWO]["probes"]] == ["front", "rear"]
        assert by_id[ONE]["probes"] == []
