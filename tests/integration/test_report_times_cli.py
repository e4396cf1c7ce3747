"""The reports through the real `logistream` command: the PDFs give people the times of
LOGISTREAM_TIMEZONE, the CSV keeps UTC with its offset."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pypdf
from tests.helpers import LOGISTREAM, seeded_random
from tests.integration.batch_support import apply_schema, insert_readings, made_up_trip

from logistream.config import Settings


def _cli(env: dict[str, str], *args: str) -> bytes:
    done = subprocess.run([LOGISTREAM, *args], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_trip_and_fleet_pdfs_in_the_display_zone_and_csv_in_utc(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    apply_schema(settings)
    # From 05:00 UTC (08:00 in Nairobi) for 6 h; fuel stolen at 09:00 UTC.
    insert_readings(settings.database_url, made_up_trip(seeded_random("report-times"), step_s=60))
    env = settings_env | {"LOGISTREAM_TIMEZONE": "Africa/Nairobi"}
    _cli(env, "batch")

    trip_pdf = tmp_path / "trip.pdf"
    _cli(env, "report", "trip", "KBX123A-1", "--format", "pdf", "-o", str(trip_pdf))
    text = _pdf_text(trip_pdf)
    assert "Times in Africa/Nairobi (EAT, UTC+03:00)" in text
    assert "2025-03-03 08:00:00 EAT" in text  # the start
    assert " UTC\n" not in text
    assert "05:00:00" not in text

    start_row = [
        row
        for row in csv.reader(
            io.StringIO(_cli(env, "report", "trip", "KBX123A-1", "--format", "csv").decode())
        )
        if row[:2] == ["trip", "start_time"]
    ]
    assert start_row == [["trip", "start_time", "2025-03-03T05:00:00+00:00"]]

    fleet_pdf = tmp_path / "fleet.pdf"
    _cli(env, "report", "fleet", "--from", "2025-03-03", "--to", "2025-03-03", "-o", str(fleet_pdf))
    fleet = _pdf_text(fleet_pdf)
    assert "Times in Africa/Nairobi (EAT, UTC+03:00)" in fleet
    # The day asked for is the day in the display zone: local midnight to midnight.
    assert "from 2025-03-03 00:00:00 EAT to 2025-03-04 00:00:00 EAT" in fleet
    assert "2025-03-03 12:" in fleet  # the theft, 09:xx UTC
    assert "+00:00" not in fleet
