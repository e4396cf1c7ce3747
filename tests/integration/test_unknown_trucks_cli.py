"""`logistream trucks unknown` over a real Redis: trucks that report but are not in the fleet
registry are listed for an admin; registry trucks are not."""

from __future__ import annotations

import json
import subprocess
import time

import redis
from tests.helpers import LOGISTREAM

from logistream.events import Reading
from logistream.live_views import RedisLiveViewsWriter, TruckLatest


def _latest(truck: str, ts: float, cargo: str | None = None) -> TruckLatest:
    reading = Reading(truck_id=truck, temp=5.0, timestamp=ts, cargo=cargo)
    return TruckLatest(truck_id=truck, reading=reading, status="ok", alerts=())


def test_unknown_trucks_are_listed_newest_first(
    settings_env: dict[str, str], client: redis.Redis
) -> None:
    now = time.time()
    RedisLiveViewsWriter(client).write_batch(
        [
            _latest("KBX 123A", now),  # in the shipped fleet.toml
            _latest("TRUCK-001", now - 3600),
            _latest("KZZ 999Z", now - 60, cargo="milk"),
        ],
        {},
        [],
    )
    listed = subprocess.run(
        [LOGISTREAM, "trucks", "unknown"], env=settings_env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["TRUCK", "LAST", "READING", "CARGO", "SENT", "STATUS"]
    assert [line.split()[0] for line in lines[1:3]] == ["KZZ", "TRUCK-001"]
    assert "KBX 123A" not in listed.stdout
    assert "2 truck(s) not in the fleet registry" in listed.stdout
    as_json = subprocess.run(
        [LOGISTREAM, "trucks", "unknown", "--json"],
        env=settings_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [json.loads(x)["truck_id"] for x in as_json.stdout.splitlines()] == [
        "KZZ 999Z",
        "TRUCK-001",
    ]
