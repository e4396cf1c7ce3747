"""Reports show people the display time zone (LOGISTREAM_TIMEZONE); machine formats keep UTC.

The trip and fleet PDFs print every time in the display zone with its abbreviation and name the
zone once at the top; the CSV and JSON keep ISO 8601 times with their +00:00 offset.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pypdf
import pytest

from logistream.batch.reports.render import render
from logistream.config import get_settings

# The trip runs 05:00-07:00 UTC, 08:00-10:00 in Nairobi.
START, END = "2025-03-03T05:00:00+00:00", "2025-03-03T07:00:00+00:00"
ALARM, ACKED = "2025-03-03T05:40:00+00:00", "2025-03-03T05:43:00+00:00"


def trip() -> dict[str, Any]:
    return {
        "report": "trip temperature report",
        "truck_id": "KCB 781C",
        "trip_id": "KCB781C-1",
        "driver_id": "DRV-003",
        "cargo": "vaccines",
        "cargo_label": "Vaccines",
        "route": "nairobi_kisumu",
        "route_label": "Nairobi - Kisumu",
        "start_time": START,
        "end_time": END,
        "duration_s": 7200.0,
        "distance_km": 120.0,
        "readings": 240,
        "gaps": [],
        "compliance": {
            "mkt_c": 5.0,
            "low_c": 2.0,
            "high_c": 8.0,
            "tor_s": 600,
            "tor_budget_s": 3600,
        },
        "verdict": "pass",
        "reason": "within budget",
        "excursions": [
            {
                "kind": "high",
                "start_time": "2025-03-03T05:30:00+00:00",
                "end_time": "2025-03-03T05:40:00+00:00",
                "duration_s": 600.0,
                "peak_c": 9.1,
                "alarm_at": ALARM,
                "lat": None,
                "lon": None,
            }
        ],
        "sensor_faults": [],
        "alerts": [
            {
                "alert_id": "a1",
                "rule": "temp_high",
                "severity": "major",
                "opened_at": ALARM,
                "resolved_at": "2025-03-03T05:50:00+00:00",
                "acknowledgements": [{"by": "Wanjiru", "at": ACKED, "note": "driver told"}],
            }
        ],
        "reconciliation": [],
        "notifications": [{"rule": "temp_high", "level": 0, "sent_at": ACKED}],
        "digest": "ab" * 32,
        "digest_format": "logistream-readings-v1",
        "series": [[1740978000.0 + 30 * i, 5.0, False] for i in range(240)],
        "version": 2,
        "issued_at": "2025-03-03T08:00:00+00:00",
        "earlier_versions": [
            {
                "version": 1,
                "issued_at": "2025-03-03T07:30:00+00:00",
                "digest": "cd" * 32,
                "readings": 230,
                "verdict": "pass",
            }
        ],
    }


def fleet() -> dict[str, Any]:
    return {
        "report": "fleet report",
        "from": "2025-03-03T00:00:00+00:00",
        "to": "2025-03-04T00:00:00+00:00",
        "fuel_by_truck": [],
        "fuel_by_route": [],
        "drivers": [],
        "thefts": [
            {
                "truck_id": "KCB 781C",
                "trip_id": "KCB781C-1",
                "start_time": "2025-03-03T05:30:00+00:00",
                "end_time": "2025-03-03T05:35:00+00:00",
                "litres": 40.0,
                "unexplained_l": 38.0,
                "lat": -1.0,
                "lon": 36.0,
            }
        ],
        "verdicts": [],
        "reconciliation": [],
    }


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(autouse=True)
def _nairobi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOGISTREAM_TIMEZONE", "Africa/Nairobi")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_trip_pdf_shows_every_time_in_the_display_zone() -> None:
    text = pdf_text(render(trip(), "pdf"))
    assert "Times in Africa/Nairobi (EAT, UTC+03:00)" in text
    for local in (
        "2025-03-03 08:00:00 EAT",  # start, chart axis
        "2025-03-03 10:00:00 EAT",  # end
        "2025-03-03 08:30:00 EAT",  # excursion start
        "2025-03-03 08:40:00 EAT",  # alarm, alert opened
        "2025-03-03 08:43:00 EAT",  # acknowledgement, notification sent
        "2025-03-03 08:50:00 EAT",  # alert resolved
        "2025-03-03 11:00:00 EAT",  # this version issued
        "2025-03-03 10:30:00 EAT",  # version 1 issued
    ):
        assert local in text, local
    assert "UTC\n" not in text
    assert " UTC " not in text
    assert "05:00:00" not in text


def test_the_fleet_pdf_shows_its_period_and_thefts_in_the_display_zone() -> None:
    text = pdf_text(render(fleet(), "pdf"))
    assert "Times in Africa/Nairobi (EAT, UTC+03:00)" in text
    assert "2025-03-03 03:00:00 EAT" in text  # the period, from midnight UTC
    assert "2025-03-03 08:30:00 EAT" in text  # the theft's start
    assert "2025-03-03 08:35:00 EAT" in text
    assert "+00:00" not in text


def test_the_zone_follows_the_setting_or_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGISTREAM_TIMEZONE", "UTC")
    get_settings.cache_clear()
    assert "2025-03-03 05:00:00 UTC" in pdf_text(render(trip(), "pdf"))
    text = pdf_text(render(trip(), "pdf", timezone="Asia/Kolkata"))
    assert "2025-03-03 10:30:00 IST" in text


def test_csv_and_json_keep_utc_with_the_offset_stated() -> None:
    rows = list(csv.reader(io.StringIO(render(trip(), "csv").decode())))
    fields = {r[1]: r[2] for r in rows if r[:1] == ["trip"]}
    assert (fields["start_time"], fields["end_time"]) == (START, END)
    (alert,) = [r for r in rows if r[:1] == ["alert"]]
    assert alert[4] == ALARM
    assert alert[7] == ACKED
    (theft,) = [
        r
        for r in csv.reader(io.StringIO(render(fleet(), "csv").decode()))
        if r[:1] == ["thefts"] and r[1] == "KCB 781C"
    ]
    assert theft[3].endswith("+00:00")
    assert json.loads(render(trip(), "json"))["start_time"] == START
