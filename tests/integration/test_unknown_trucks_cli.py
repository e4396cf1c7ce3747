"""`logistream trucks unknown|adopt|dismiss` over a real Redis and PostgreSQL: trucks that report
but are not in the fleet registry are listed for an admin (registry trucks are not), and each
can be adopted into a registry folder's fleet.toml or dismissed, with the decision recorded."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psycopg
import redis
from tests.helpers import LOGISTREAM

from logistream.config import Settings
from logistream.events import Reading
from logistream.live_views import RedisLiveViewsWriter, TruckLatest
from logistream.registry import load_registry
from logistream.schema.migrate import migrate


def _latest(truck: str, ts: float, cargo: str | None = None) -> TruckLatest:
    reading = Reading(truck_id=truck, temp=5.0, timestamp=ts, cargo=cargo)
    return TruckLatest(truck_id=truck, reading=reading, status="ok", alerts=())


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOGISTREAM, "trucks", *args], env=env, capture_output=True, text=True)


def test_unknown_trucks_are_listed_newest_first(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis
) -> None:
    assert settings.database_url
    migrate(settings, settings.database_url)
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
    assert lines[0].split() == ["TRUCK", "LAST", "READING", "CARGO", "SENT", "STATUS", "DECISION"]
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


def test_an_admin_adopts_one_truck_and_dismisses_another(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    assert settings.database_url
    migrate(settings, settings.database_url)
    now = time.time()
    RedisLiveViewsWriter(client).write_batch(
        [_latest("KZZ 999Z", now - 60), _latest("TEST-DEVICE", now - 30)], {}, []
    )
    env = {**settings_env, "LOGISTREAM_REGISTRY_DIR": str(tmp_path)}

    refused = _run(
        env, "adopt", "KZZ 999Z", "--route", "atlantis", "--cargo", "milk", "--driver", "DRV-099"
    )
    assert refused.returncode == 2  # a LogiStreamError: one line, exit 2
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "unknown route 'atlantis'" in refused.stderr
    assert not (tmp_path / "fleet.toml").exists()

    adopted = _run(
        env,
        "adopt",
        "KZZ 999Z",
        "--route",
        "nairobi_kisumu",
        "--cargo",
        "milk",
        "--driver",
        "DRV-099",
        "--tank-litres",
        "350",
    )
    assert adopted.returncode == 0, adopted.stderr
    assert "Restart the speed layer" in adopted.stdout
    truck = load_registry(tmp_path).truck_index["KZZ 999Z"]
    assert (truck.route, truck.cargo, truck.driver_id, truck.tank_litres) == (
        "nairobi_kisumu",
        "milk",
        "DRV-099",
        350.0,
    )
    assert "KBX 123A" in load_registry(tmp_path).truck_index  # the shipped fleet is kept

    dismissed = _run(env, "dismiss", "TEST-DEVICE", "--note", "bench unit")
    assert dismissed.returncode == 0, dismissed.stderr
    listed = _run(env, "unknown")
    assert "TEST-DEVICE" not in listed.stdout  # dismissed; KZZ 999Z is in the registry now
    assert "Every reporting truck is in the fleet registry" in listed.stdout

    # Reporting again after the dismissal brings it back, saying so.
    RedisLiveViewsWriter(client).write_batch([_latest("TEST-DEVICE", time.time() + 5)], {}, [])
    listed = _run(env, "unknown")
    assert "TEST-DEVICE" in listed.stdout
    assert "reported again since" in listed.stdout

    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT truck_id, decision, decided_by, note FROM unknown_truck_decisions ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("KZZ 999Z", "adopted"), ("TEST-DEVICE", "dismissed")]
    assert all(str(r[2]).startswith("cli") for r in rows)
    assert rows[1][3] == "bench unit"
    missing = _run(env, "dismiss", "NO-SUCH")
    assert missing.returncode == 2
    assert "not on the unknown list" in missing.stderr
