"""Operating modes in the trip and shipment reports, on a real PostgreSQL: each mode interval
over the trip (carriage) with the alarms held in it; the trip report's digest covers them (a
mode recorded later issues a new version, recomputable from the documented format); a refused
mode and another mode's held alarm are not listed; JSON/CSV in UTC, the PDF in the display zone.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pypdf
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, insert_readings, made_up_trip
from tests.integration.test_shipment_report import CREATED, ID, TRUCK, _archive, _readings, _utc

from logistream.batch.reports.current import current_trip_report
from logistream.batch.reports.render import render
from logistream.batch.reports.shipment import issue as issue_shipment
from logistream.batch.reports.trip import issue
from logistream.config import Settings
from logistream.reads.connect import connect_reader
from logistream.registry import cached_registry
from logistream.shipments.store import ShipmentStore, new_record

REGISTRY = cached_registry()
TRIP_TRUCK, TRIP = "KBX 123A", "KBX123A-1"
T0 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)


def add_mode(
    conn: psycopg.Connection[Any],
    mode_id: str,
    truck_id: str,
    start: datetime,
    end: datetime,
    status: str = "active",
    approved_by: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO truck_modes (mode_id, truck_id, kind, reason, starts_at, ends_at, set_by, "
        "set_source, status, approved_by, version, published_version) "
        "VALUES (%s, %s, 'washout', 'after fish & chips', %s, %s, 'cli:ann', 'cli', %s, %s, "
        "%s, %s)",
        [mode_id, truck_id, start, end, status, approved_by, *(2 * [int(status != "refused")])],
    )


def add_held(conn: psycopg.Connection[Any], alert_id: str, truck_id: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, rule, severity, "
        "opened_at, message, payload, source_partition, source_offset) "
        "VALUES (%s, 'suppressed', %s, %s, 'temp_high', 'major', %s, "
        "'held: temp_high would have opened at 15.2 °C', '{}', 0, 0)",
        [alert_id, at, truck_id, at],
    )


def test_the_trip_report_lists_modes_and_held_alarms_and_its_digest_covers_them(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    insert_readings(url, made_up_trip(seeded_random("modes-report"), step_s=60.0))
    with psycopg.connect(url, autocommit=True) as conn:
        first = issue(conn, REGISTRY, TRIP, TRIP_TRUCK)
        assert (first["version"], first["operating_modes"]) == (1, [])
        assert first["digest_format"] == "logistream-readings-v1"

        start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
        add_mode(conn, "m-wash", TRIP_TRUCK, start, end, approved_by="cli:bob")
        add_mode(conn, "m-refused", TRIP_TRUCK, T0, T0 + timedelta(hours=5), status="refused")
        at = T0 + timedelta(hours=1, minutes=12)
        add_held(conn, f"{TRIP_TRUCK}:temp_high:e1:held:m-wash", TRIP_TRUCK, at)
        add_held(conn, f"{TRIP_TRUCK}:temp_high:e2:held:m-other", TRIP_TRUCK, at)
        second = issue(conn, REGISTRY, TRIP, TRIP_TRUCK)

    assert second["version"] == 2
    (mode,) = second["operating_modes"]
    assert mode == {
        "mode_id": "m-wash",
        "kind": "washout",
        "reason": "after fish & chips",
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "ended_early": False,
        "set_by": "cli:ann",
        "approved_by": "cli:bob",
        "held": [
            {
                "alert_id": f"{TRIP_TRUCK}:temp_high:e1:held:m-wash",
                "rule": "temp_high",
                "probe_id": "",
                "at": at.isoformat(),
                "message": "held: temp_high would have opened at 15.2 °C",
            }
        ],
    }
    # The digest, recomputed from the documented format: the readings' digest, LF, the lines.
    assert second["digest_format"] == "logistream-readings-v1+modes-v1"

    def us(d: datetime) -> str:
        return str(round(d.timestamp() * 1_000_000))

    lines = (
        "\t".join(["mode", "m-wash", "washout", "after fish & chips", us(start), us(end)])
        + "\tcli:ann\tcli:bob\n"
        + "\t".join(["held", mode["held"][0]["alert_id"], "temp_high", "", us(at)])
        + "\theld: temp_high would have opened at 15.2 °C\n"
    )
    expected = hashlib.sha256(f"{first['digest']}\n{lines}".encode()).hexdigest()
    assert second["digest"] == expected

    # Unchanged: the reader gets the stored version 2 back, no version 3.
    @contextmanager
    def owner() -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(url) as c:
            yield c

    with connect_reader(settings) as reader:
        again = current_trip_report(reader, owner, REGISTRY, TRIP_TRUCK, TRIP)
    assert again["version"] == 2

    table = list(csv.reader(io.StringIO(render(second, "csv").decode())))
    header = next(r for r in table if r[:1] == ["operating modes"])
    (row,) = [r for r in table if r[:1] == ["operating mode"]]
    assert dict(zip(header, row, strict=True))["starts_at"] == start.isoformat()
    assert [r[2:4] for r in table if r[:1] == ["held alarm"]] == [
        [mode["held"][0]["alert_id"], "temp_high"]
    ]
    pdf = tmp_path / "trip.pdf"
    pdf.write_bytes(render(second, "pdf", "Africa/Nairobi"))
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "Operating modes" in text
    assert "2025-03-03 09:00:00 EAT" in text  # the mode's start, 06:00 UTC, in the display zone
    assert "after fish & chips" in text
    assert "held: temp_high would have opened at 15.2 °C" in text


def test_the_shipment_report_lists_the_modes_over_its_carriage(settings: Settings) -> None:
    assert settings.database_url
    apply_schema(settings)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        ShipmentStore(conn, REGISTRY).create(new_record(_shipment(), CREATED), "dispatch")
        _archive(conn, _readings())
        add_mode(
            conn, "m-before", TRUCK, _utc(0, 0), _utc(1, 0), "ended"
        )  # before the loading: not listed
        add_mode(conn, "m-wash", TRUCK, _utc(11, 0), _utc(11, 30))
        add_held(conn, f"{TRUCK}:temp_high:e1:held:m-wash", TRUCK, _utc(11, 10))
        record = ShipmentStore(conn, REGISTRY).get(ID)
        assert record is not None
        content = issue_shipment(conn, REGISTRY, record)
    assert [(m["mode_id"], len(m["held"])) for m in content["operating_modes"]] == [("m-wash", 1)]
    assert content["operating_modes"][0]["starts_at"] == _utc(11, 0).isoformat()
    table = list(csv.reader(io.StringIO(render(content, "csv").decode())))
    assert [r[2] for r in table if r[:1] == ["operating mode"]] == ["m-wash"]
    assert render(content, "pdf").startswith(b"%PDF")


def _shipment() -> Any:
    from tests.integration.test_shipment_report import SHIPMENT

    return SHIPMENT
