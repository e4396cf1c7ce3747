"""Reports through the real commands: versions on late readings, the PDF's text and digest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pypdf
import pytest
from tests.helpers import seeded_random
from tests.integration.batch_support import (
    Row,
    apply_schema,
    fetch,
    insert_readings,
    made_up_trip,
)

from logistream.config import Settings

# The commands as the lead will wire them into `logistream` (register(app) on the main app).
CLI = (
    "import typer; from logistream.batch import report_cli; "
    "app = typer.Typer(); report_cli.register(app); app()"
)


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args], env=env, capture_output=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return done


def archive_digest(url: str, truck_id: str, trip_id: str) -> str:
    """Recomputed here, from the format documented in batch/reports/digest.py, not its code."""
    rows = fetch(
        url,
        "SELECT event_id, (extract(epoch FROM event_time) * 1000000)::bigint, truck_id, trip_id,"
        " temp, fuel, lat, lon, speed_kmh, door_open, reefer_on, defrost FROM readings "
        "WHERE truck_id = %s AND trip_id = %s ORDER BY event_time, event_id",
        [truck_id, trip_id],
    )
    text = ""
    for row in rows:
        fields = [
            ""
            if v is None
            else (
                "true"
                if v is True
                else "false"
                if v is False
                else repr(v)
                if isinstance(v, float)
                else str(v)
            )
            for v in row
        ]
        text += "\t".join(fields) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_trip_report_versions_pdf_and_digest(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("reports")
    rows = made_up_trip(rng, step_s=30.0, excursion=(1.0, 2.6, 11.0))
    insert_readings(url, rows)
    opened = rows[0].t + 1.3 * 3600
    with psycopg.connect(url) as conn:
        for state, by, note, offset in (
            ("open", None, None, 0),
            ("acknowledged", "Dr. Wanjiru", "reefer door seal replaced at Voi", 900),
            ("resolved", None, None, 5000),
        ):
            conn.execute(
                "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule,"
                " severity, opened_at, message, acknowledged_by, ack_note, payload,"
                " source_partition, source_offset) VALUES (%s, %s, to_timestamp(%s), %s, %s, %s,"
                " %s, to_timestamp(%s), %s, %s, %s, '{}', 0, %s)",
                [
                    "a-1",
                    state,
                    opened + offset,
                    "KBX 123A",
                    "KBX123A-1",
                    "temp_high",
                    "major",
                    opened,
                    "KBX 123A at 10.2 °C for 18 min",
                    by,
                    note,
                    offset,
                ],
            )
        # What the notifier logged about that alert: the report shows who was told, and how.
        for key, name, channel in (
            ("k-sms", "Otieno (driver)", "sms"),
            ("k-mail", "Amina (QA)", "email"),
        ):
            conn.execute(
                "INSERT INTO notifications (idempotency_key, kind, alert_id, alert_state, truck_id,"
                " trip_id, rule, severity, alert_opened_at, recipient, recipient_name, channel,"
                " address, subject, body, payload, status, attempts, sent_at) VALUES (%s,"
                " 'alert', 'a-1', 'open', 'KBX 123A', 'KBX123A-1', 'temp_high', 'major',"
                " to_timestamp(%s), %s, %s, %s, 'x', 's', 'b', '{}', 'sent', 1, now())",
                [key, opened, key, name, channel],
            )

    run_cli(settings_env, "batch")
    first = fetch(url, "SELECT * FROM trip_compliance") + fetch(url, "SELECT * FROM excursions")
    run_cli(settings_env, "batch")
    assert (
        fetch(url, "SELECT * FROM trip_compliance") + fetch(url, "SELECT * FROM excursions")
        == first
    )
    ((verdict,),) = fetch(url, "SELECT verdict FROM trip_compliance")
    assert verdict == "fail"  # over an hour above 8 °C against a 60 min budget

    v1 = tmp_path / "v1.pdf"
    run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "pdf", "-o", str(v1))
    text = pdf_text(v1)
    digest1 = archive_digest(url, "KBX 123A", "KBX123A-1")
    assert "Verdict: FAIL" in text
    assert digest1 in text.replace("\n", "")
    assert "Dr. Wanjiru" in text
    assert "Otieno (driver)" in text
    assert "Amina (QA)" in text
    assert "MKT" in text
    assert "Version 1" in text

    # Same readings: the same version, nothing new stored.
    same = run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "json")
    assert json.loads(same.stdout)["version"] == 1
    assert fetch(url, "SELECT count(*) FROM report_versions") == [(1,)]

    # A late reading from the truck's spool joins the trip: version 2, version 1 kept.
    late = Row(
        t=rows[-1].t + 10,
        truck_id="KBX 123A",
        temp=5.1,
        fuel=40.0,
        trip_id="KBX123A-1",
        driver_id="DRV-001",
        cargo="vaccines",
        lat=-1.9,
        lon=36.8,
        speed_kmh=0.0,
    )
    insert_readings(url, [late], first_offset=len(rows))
    v2 = tmp_path / "v2.pdf"
    run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "pdf", "-o", str(v2))
    digest2 = archive_digest(url, "KBX 123A", "KBX123A-1")
    assert digest2 != digest1
    versions = fetch(url, "SELECT version, digest, readings FROM report_versions ORDER BY 1")
    assert versions == [(1, digest1, len(rows)), (2, digest2, len(rows) + 1)]
    text2 = pdf_text(v2).replace("\n", "")
    assert "Version 2" in text2
    assert digest2 in text2
    assert digest1 in text2  # listed among the earlier versions
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE report_versions SET verdict = 'pass'")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM report_versions")

    out = run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "csv").stdout.decode()
    table = list(csv.reader(io.StringIO(out)))
    fields = {r[1]: r[2] for r in table if r and r[0] == "trip"}
    assert fields["verdict"] == "fail"
    assert fields["digest_sha256"] == digest2
    assert fields["version"] == "2"
    assert any(r[:2] == ["alert", "a-1"] and "Dr. Wanjiru" in r for r in table)
    assert any(r[:2] == ["version", "1"] for r in table)


def test_fleet_report(settings: Settings, settings_env: dict[str, str], tmp_path: Path) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("fleet-report")
    insert_readings(url, made_up_trip(rng, step_s=3.0))
    run_cli(settings_env, "batch", "--from", "2025-03-01", "--to", "2025-04-01")
    out = run_cli(
        settings_env,
        "report",
        "fleet",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-03",
        "--format",
        "json",
    ).stdout
    data = json.loads(out)
    (truck,) = data["fuel_by_truck"]
    assert truck["truck_id"] == "KBX 123A"
    assert truck["thefts"] == 1
    assert 20 < truck["l_per_100km"] < 80
    (driver,) = data["drivers"]
    assert driver["driver_id"] == "DRV-001"
    assert driver["harsh_brakes"] == 2
    assert 0 <= driver["score"] <= 100
    pdf = tmp_path / "fleet.pdf"
    run_cli(
        settings_env,
        "report",
        "fleet",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-03",
        "--format",
        "pdf",
        "-o",
        str(pdf),
    )
    text = pdf_text(pdf)
    assert "Driver scorecards" in text
    assert "DRV-001" in text
    empty = run_cli(
        settings_env,
        "report",
        "fleet",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        "--format",
        "csv",
    ).stdout.decode()
    assert "fuel_by_truck,(none)" in empty
