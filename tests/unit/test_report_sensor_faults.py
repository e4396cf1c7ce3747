"""The trip report shows the batch views' sensor-fault intervals (CSV and PDF), and still
renders a stored version issued before they existed."""

from __future__ import annotations

import csv
import io
from typing import Any

from logistream.batch.reports.render import trip_csv, trip_pdf

START = "2025-03-03T05:00:00+00:00"
END = "2025-03-03T07:00:00+00:00"


def content(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
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
        "start": [-1.28, 36.82],
        "end": [-0.3, 36.07],
        "readings": 240,
        "gaps": [],
        "compliance": {"mkt_c": 5.0, "min_c": 4.6, "max_c": 5.4, "tor_s": 0, "tor_budget_s": 3600},
        "verdict": "pass",
        "reason": "always within range",
        "excursions": [],
        "alerts": [],
        "reconciliation": [],
        "notifications": [],
        "digest": "ab" * 32,
        "digest_format": "logistream-readings-v1",
        "series": [[1740978000.0 + 30 * i, 5.0, False] for i in range(240)],
        "version": 1,
        "issued_at": END,
        "earlier_versions": [],
    }
    base.update(extra)
    return base


FAULT = {
    "start_time": "2025-03-03T05:30:00+00:00",
    "end_time": "2025-03-03T05:30:30+00:00",
    "ongoing": False,
    "readings": 1,
    "min_c": 25.0,
    "max_c": 25.0,
    "last_good_c": 5.1,
}


def test_the_csv_lists_each_sensor_fault_interval() -> None:
    table = list(csv.reader(io.StringIO(trip_csv(content(sensor_faults=[FAULT])).decode())))
    header = next(r for r in table if r and r[0] == "sensor faults")
    (row,) = [r for r in table if r and r[0] == "sensor fault"]
    assert dict(zip(header[1:], row[1:], strict=True)) == {
        "start_time": FAULT["start_time"],
        "end_time": FAULT["end_time"],
        "ongoing": "False",
        "readings": "1",
        "min_c": "25.0",
        "max_c": "25.0",
        "last_good_c": "5.1",
    }


def test_the_pdf_has_a_sensor_fault_section_and_old_versions_still_render() -> None:
    pdf = trip_pdf(content(sensor_faults=[FAULT]))
    assert pdf.startswith(b"%PDF")
    assert trip_pdf(content()).startswith(b"%PDF")  # a version stored before the section
    assert not [
        r
        for r in csv.reader(io.StringIO(trip_csv(content()).decode()))
        if r[:1] == ["sensor fault"]
    ]
