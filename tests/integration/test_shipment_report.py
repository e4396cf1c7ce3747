"""The shipment report on a real PostgreSQL: the example 3-drop vaccine shipment (Nairobi store →
Kisumu [MR-2611, DIL-0907] → Kakamega [MR-2612] → Bungoma [MR-2613]) archived as two probes'
readings every 5 minutes, its stages recomputed from the archived positions, each lot's carriage
and verdict by hand, an acknowledged alert, the proofs of delivery, a quality manager's decision,
the digest verified against the archive, a version reused while nothing changed and a new one
after a late reading, and ``logistream report shipment`` end to end (JSON and PDF)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.test_reports import pdf_text, run_cli

import logistream.shipments
from logistream.batch.reports.shipment import issue, verify
from logistream.config import Settings
from logistream.reads.shipment_readings import stage_changes
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.shipments.parse import parse_shipment
from logistream.shipments.releases import latest_releases, record_release
from logistream.shipments.store import ShipmentStore, new_record
from logistream.shipments.wire import StageOverride

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
DAY = "2026-11-30"
"""The example's day moved into the past: the report judges what the archive holds up to now."""
SHIPMENT = parse_shipment(
    tomllib.loads(EXAMPLE.read_text(encoding="utf-8").replace("2026-12-08", DAY)), REGISTRY
)
ID = SHIPMENT.shipment_id
TRUCK = SHIPMENT.truck_id
CREATED = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # the origin's window opens at 03:00 UTC
NAIROBI = (-1.2864, 36.8172)
KISUMU = (-0.0917, 34.768)
KAKAMEGA = (0.2827, 34.7519)
ROAD = {1: (-0.8, 35.9), 2: (0.1, 34.9), 3: (0.42, 34.65)}
"""Between the stops, inside no fence."""


def _utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, tzinfo=UTC)


def _bungoma() -> tuple[float, float]:
    middle = SHIPMENT.stops[-1].geofence.shape.centroid
    return float(middle.y), float(middle.x)


def _track() -> list[tuple[datetime, tuple[float, float]]]:
    """(time, position) every 5 min from 03:00 to 15:00: 30 min at each stop."""
    legs = [
        (_utc(3, 0), _utc(3, 30), NAIROBI),
        (_utc(3, 35), _utc(9, 55), ROAD[1]),
        (_utc(10, 0), _utc(10, 30), KISUMU),
        (_utc(10, 35), _utc(11, 55), ROAD[2]),
        (_utc(12, 0), _utc(12, 30), KAKAMEGA),
        (_utc(12, 35), _utc(13, 55), ROAD[3]),
        (_utc(14, 0), _utc(14, 30), _bungoma()),
        (_utc(14, 35), _utc(15, 0), ROAD[3]),
    ]
    out = []
    for start, end, where in legs:
        t = start
        while t <= end:
            out.append((t, where))
            t += timedelta(minutes=5)
    return out


def _temp(probe: str, at: datetime) -> float:
    # The rear probe reads 9.5 °C (above 8 °C) at 11:00, 11:05 and 11:10: after Kisumu.
    if probe == "rear" and _utc(11, 0) <= at <= _utc(11, 10):
        return 9.5
    return 5.0 if probe == "front" else 5.5


COLUMNS = (
    "event_id, event_time, truck_id, temp, lat, lon, probe_id, cargo, trip_id, "
    "source_partition, source_offset"
)


def _archive(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    """As the bridge stores them: COPY into the archive, day partitions on demand."""
    conn.execute("SELECT ensure_reading_partition(%s::date)", [DAY])
    with conn.cursor() as cur, cur.copy(f"COPY readings ({COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _readings() -> list[tuple[Any, ...]]:
    rows = []
    for i, (at, (lat, lon)) in enumerate(_track()):
        for probe in ("front", "rear"):
            rows.append(
                (f"{probe}-{i}", at, TRUCK, _temp(probe, at), lat, lon, probe, "vaccines",
                 "KCB781C-1", 0, 2 * i + (probe == "rear"))
            )  # fmt: skip
    return rows


def _alert(conn: psycopg.Connection[Any]) -> None:
    """The speed layer's temp_high of the rear probe at 11:10, acknowledged at 11:20."""
    base = {
        "alert_id": "al-rear-1",
        "truck_id": TRUCK,
        "rule": "temp_high",
        "severity": "major",
        "opened_at": _utc(11, 10),
        "message": "rear probe above 8 °C",
    }
    for state, at, by in (("open", _utc(11, 10), None), ("acknowledged", _utc(11, 20), "ops1")):
        conn.execute(
            "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, rule, severity, "
            "opened_at, message, acknowledged_by, ack_note, payload, source_partition, "
            "source_offset) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}', 0, %s)",
            [base["alert_id"], state, at, TRUCK, base["rule"], base["severity"],
             base["opened_at"], base["message"], by, "door checked" if by else None,
             1 if by else 0],
        )  # fmt: skip


def _pod(conn: psycopg.Connection[Any], lot: str, stop: int, decision: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO shipment_pod (shipment_id, lot_number, stop_index, stop_id, decision, "
        "recorded_by, signer_name, organisation, signed_at, note, temperature, version) "
        "VALUES (%s, %s, %s, %s, %s, 'wanjiku', 'Wanjiku Otieno', 'moh-western', %s, %s, '{}', 1)",
        [ID, lot, stop, SHIPMENT.stops[stop].stop_id, decision, at,
         "cartons warm" if decision == "rejected" else ""],
    )  # fmt: skip


@pytest.fixture
def conn(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    migrate(settings, settings.database_url or "")
    with psycopg.connect(settings.database_url or "", autocommit=True) as connection:
        yield connection


def _by_lot(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lot["lot"]: lot for lot in content["lots"]}


def test_the_shipment_report_lot_by_lot(
    settings: Settings, settings_env: dict[str, str], conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT, CREATED), "dispatch")
    _archive(conn, _readings())
    _alert(conn)
    _pod(conn, "MR-2611", 1, "accepted", _utc(10, 15))
    _pod(conn, "MR-2613", 3, "rejected", _utc(14, 10))
    record_release(conn, ID, "MR-2612", "quarantined", "qm-anna", "excursion under review")
    record_release(conn, ID, "MR-2612", "released", "qm-anna", "stability data covers 15 min")
    record = ShipmentStore(conn, REGISTRY).get(ID)
    assert record is not None

    content = issue(conn, REGISTRY, record)
    # Stages recomputed from the archived positions (dwell 120 s; a stage at its first reading).
    assert [(s["stage"], s["stop"], s["at"]) for s in content["stages"]] == [
        ("at_origin", 0, _utc(3, 0).isoformat()),
        ("in_transit", 0, _utc(3, 35).isoformat()),
        ("at_stop", 1, _utc(10, 0).isoformat()),
        ("in_transit", 1, _utc(10, 35).isoformat()),
        ("at_stop", 2, _utc(12, 0).isoformat()),
        ("in_transit", 2, _utc(12, 35).isoformat()),
        ("at_destination", 3, _utc(14, 0).isoformat()),
        ("delivered", 3, _utc(14, 35).isoformat()),
    ]
    lots = _by_lot(content)
    carriages = {
        n: (lot["carriage"]["end"], lot["carriage"]["ended_by"]) for n, lot in lots.items()
    }
    assert carriages == {
        "MR-2611": (_utc(10, 15).isoformat(), "pod"),
        "DIL-0907": (_utc(10, 0).isoformat(), "arrival"),
        "MR-2612": (_utc(12, 0).isoformat(), "arrival"),
        "MR-2613": (_utc(14, 10).isoformat(), "pod"),
    }
    assert {lot["carriage"]["start"] for lot in lots.values()} == {_utc(3, 0).isoformat()}
    verdicts = {n: (lot["verdict"], lot["reason"]) for n, lot in lots.items()}
    assert verdicts == {
        "MR-2611": ("pass", "always within range"),
        "DIL-0907": ("pass", "always within range"),
        "MR-2612": ("review", "excursions within budget: out of range 15.0 min "
                              "(1 excursion, longest 15.0 min)"),
        "MR-2613": ("fail", "rejected at proof of delivery at Bungoma county vaccine depot by "
                            "Wanjiku Otieno: cartons warm"),
    }  # fmt: skip
    assert (content["verdict"], content["reason"]) == (
        "fail",
        f"lot MR-2613: {verdicts['MR-2613'][1]}",
    )
    kakamega = lots["MR-2612"]
    assert kakamega["figures"]["probes"] == ["front", "rear"]
    assert (kakamega["figures"]["min_c"], kakamega["figures"]["max_c"]) == (5.0, 9.5)
    assert kakamega["figures"]["tor_s"] == 900.0
    assert [(e["probe_id"], e["kind"], e["start"]) for e in kakamega["excursions"]] == [
        ("rear", "high", _utc(11, 0).isoformat())
    ]
    # Its carriage saw the rear probe's alert and who acknowledged it; Kisumu's lots did not.
    acks = [(a["rule"], [k["by"] for k in a["acknowledgements"]]) for a in kakamega["alerts"]]
    assert acks == [("temp_high", ["ops1"])]
    assert lots["DIL-0907"]["alerts"] == []
    assert kakamega["release"]["decision"] == "released"
    assert [r["decision"] for r in kakamega["releases"]] == ["quarantined", "released"]
    assert lots["MR-2613"]["proof_of_delivery"]["decision"] == "rejected"
    assert "MR-2612" in latest_releases(conn, ID)
    assert content["methods"]["mkt_c"]["full"].startswith("Mean kinetic temperature (MKT")
    assert "carriage" in content["methods"]

    # Signed: the digest covers the truck's readings from loading to the last handover.
    assert content["version"] == 1
    assert content["readings"] == 2 * len([t for t, _ in _track() if t <= _utc(14, 10)])
    assert verify(conn, content)
    assert issue(conn, REGISTRY, record)["version"] == 1  # nothing changed: the same version

    # A late reading inside the span: the stored version no longer verifies; version 2.
    _archive(conn, [("late-1", _utc(11, 2), TRUCK, 5.0, *ROAD[2], "front", "vaccines",
                     "KCB781C-1", 1, 999)])  # fmt: skip
    assert not verify(conn, content)
    second = issue(conn, REGISTRY, record)
    assert second["version"] == 2
    assert [v["version"] for v in second["earlier_versions"]] == [1]
    assert verify(conn, second)

    # The command: the same version, rendered.
    done = run_cli(settings_env, "report", "shipment", ID, "--format", "json")
    assert json.loads(done.stdout)["version"] == 2
    pdf = tmp_path / "shipment.pdf"
    run_cli(settings_env, "report", "shipment", ID, "--format", "pdf", "-o", str(pdf))
    text = " ".join(pdf_text(pdf).split())
    assert "Lot MR-2613" in text
    assert "Mean kinetic temperature (MKT, USP <1079.2>" in text
    assert second["digest"] in pdf_text(pdf).replace("\n", "")
    csv_out = run_cli(settings_env, "report", "shipment", ID, "--format", "csv").stdout.decode()
    assert "lot,MR-2613,verdict,fail" in csv_out


def _shipments_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logistream", "shipments", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_release_and_quarantine_are_logged_and_refusals_store_nothing(
    settings_env: dict[str, str], conn: psycopg.Connection[Any]
) -> None:
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT, CREATED), "dispatch")
    done = _shipments_cli(
        settings_env, "release", ID, "MR-2612", "--quarantine", "--reason", "excursion"
    )
    assert done.returncode == 0, done.stderr
    assert f"{ID} lot MR-2612: quarantined by cli:" in done.stdout
    done = _shipments_cli(settings_env, "release", ID, "MR-2612", "--release", "--reason", "ok")
    assert done.returncode == 0, done.stderr
    latest = latest_releases(conn, ID)["MR-2612"]
    assert (latest.decision, latest.reason) == ("released", "ok")
    refused = [
        ("release", ID, "NOPE-1", "--release", "--reason", "x"),
        ("release", "SHP-NONE", "MR-2612", "--release", "--reason", "x"),
        ("release", ID, "MR-2612", "--release", "--reason", "  "),
        ("release", ID, "MR-2612", "--reason", "which?"),
    ]
    for args in refused:
        done = _shipments_cli(settings_env, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line
    assert "is not a lot of shipment" in _shipments_cli(settings_env, *refused[0]).stderr
    rows = conn.execute("SELECT count(*) FROM lot_releases").fetchone()
    assert rows == (2,)


def test_a_dispatchers_override_is_applied_at_its_time(conn: psycopg.Connection[Any]) -> None:
    store = ShipmentStore(conn, REGISTRY)
    store.create(new_record(SHIPMENT, CREATED), "dispatch")
    _archive(conn, _readings())
    # At 12:10, at Kakamega, the dispatcher declares the rest handed over (Bungoma's depot
    # collected it there): the readings after it no longer move the stages.
    note = "Bungoma collected at Kakamega"
    store.override_stage(ID, StageOverride("delivered", 3, "dispatch", _utc(12, 10), note))
    record = store.get(ID)
    assert record is not None
    changes = stage_changes(conn, record, datetime.now(UTC))
    assert [(c.stage, c.at, c.cause) for c in changes][-3:] == [
        ("in_transit", _utc(10, 35).timestamp(), "geofence"),
        ("at_stop", _utc(12, 0).timestamp(), "geofence"),
        ("delivered", _utc(12, 10).timestamp(), "override"),
    ]
    content = issue(conn, REGISTRY, record)
    bungoma = _by_lot(content)["MR-2613"]
    assert (bungoma["carriage"]["end"], bungoma["carriage"]["ended_by"]) == (
        _utc(12, 10).isoformat(),
        "arrival",
    )
    assert content["stages"][-1]["cause"] == "override"


def test_a_shipment_on_the_road_is_judged_up_to_its_newest_record(
    conn: psycopg.Connection[Any],
) -> None:
    # Loaded and on the road since 03:35: every lot is still on the truck.
    ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT, CREATED), "dispatch")
    on_road = [r for r in _readings() if r[1] <= _utc(5, 0)]
    _archive(conn, on_road)
    record = ShipmentStore(conn, REGISTRY).get(ID)
    assert record is not None
    first = issue(conn, REGISTRY, record)
    ends = {lot["carriage"]["end"] for lot in first["lots"]}
    assert ends == {_utc(5, 0).isoformat()}  # its newest reading, not the clock
    # Asked again with nothing new recorded: the same version, however much time passed.
    assert issue(conn, REGISTRY, record)["version"] == first["version"] == 1
    # One more reading archived: the carriage grows, a new version.
    _archive(conn, [r for r in _readings() if _utc(5, 0) < r[1] <= _utc(5, 5)])
    assert issue(conn, REGISTRY, record)["version"] == 2
