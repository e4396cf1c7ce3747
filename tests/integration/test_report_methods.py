"""The issued trip report carries each figure's full name and method (JSON, PDF), and a version
issued before methods were recorded is still handed out, renders, and verifies against the
archive: the digest covers the readings, not the report's wording."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import Row, apply_schema, fetch, insert_readings, made_up_trip
from tests.integration.test_reports import archive_digest, pdf_text, run_cli

from logistream.batch.reports.trip import build_content
from logistream.batch.views.recompute import recompute_trip_privately
from logistream.config import Settings
from logistream.registry import load_registry


def _content_without_methods(url: str) -> dict[str, object]:
    """What a version issued before this change held: today's content less ``methods``."""
    with psycopg.connect(url) as conn, conn.transaction(force_rollback=True):
        recompute_trip_privately(conn, load_registry(), "KBX 123A", "KBX123A-1")
        content = build_content(conn, load_registry(), "KBX 123A", "KBX123A-1")
    del content["methods"]
    return content


def test_methods_in_new_versions_and_an_older_version_still_verifies(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rows = made_up_trip(seeded_random("report-methods"), step_s=60.0)
    insert_readings(url, rows)
    run_cli(settings_env, "batch")

    # Version 1 as stored before reports recorded methods.
    old = _content_without_methods(url)
    digest1 = archive_digest(url, "KBX 123A", "KBX123A-1")
    assert old["digest"] == digest1
    old.update(version=1, issued_at="2025-03-03T12:00:00+00:00", earlier_versions=[])
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO report_versions (truck_id, trip_id, version, issued_at, digest, "
            "digest_format, readings, verdict, content) VALUES ('KBX 123A', 'KBX123A-1', 1, "
            "'2025-03-03T12:00:00+00:00', %s, 'logistream-readings-v1', %s, %s, %s)",
            [digest1, len(rows), old["verdict"], json.dumps(old)],
        )

    # Same readings: that version is the report, as it was issued, and it still verifies.
    same = json.loads(
        run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "json").stdout
    )
    assert (same["version"], same["digest"]) == (1, archive_digest(url, "KBX 123A", "KBX123A-1"))
    assert "methods" not in same
    v1 = tmp_path / "v1.pdf"
    run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "pdf", "-o", str(v1))
    text1 = " ".join(pdf_text(v1).split())
    assert "issued before reports recorded each figure's method" in text1
    assert digest1 in pdf_text(v1).replace("\n", "")

    # A late reading: version 2 is issued with the methods, quoting the vaccines profile.
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
    new = json.loads(
        run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "json").stdout
    )
    assert new["version"] == 2
    assert new["digest"] == archive_digest(url, "KBX 123A", "KBX123A-1") != digest1
    assert [v["digest"] for v in new["earlier_versions"]] == [digest1]
    methods = new["methods"]
    assert methods["mkt_c"]["full"] == (
        "Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = 10,000 K)"
    )
    assert "outside 2–8 °C, against a budget of 60 min" in methods["tor_s"]["full"]
    stored = fetch(url, "SELECT content->'methods' FROM report_versions WHERE version = 2")
    assert stored == [(methods,)]
    v2 = tmp_path / "v2.pdf"
    run_cli(settings_env, "report", "trip", "KBX123A-1", "--format", "pdf", "-o", str(v2))
    text2 = " ".join(pdf_text(v2).replace("\u2206", "Δ").split())
    assert "Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = 10,000 K)" in text2
    assert "Figures and methods" in text2
