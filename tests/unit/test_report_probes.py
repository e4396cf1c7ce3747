"""The trip report's "Probes and calibration": each probe of the truck with its calibration
record, an overdue one marked (PDF and CSV); a version stored before it still renders."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from pypdf import PdfReader
from tests.unit.test_report_sensor_faults import content

from logistream.batch.reports.probes import probe_records
from logistream.batch.reports.render import trip_csv, trip_pdf
from logistream.registry import load_registry

REGISTRY = load_registry()


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_each_probe_with_its_record_and_overdue_from_its_due_day() -> None:
    # KCB 781C: front (CAL-2026-0144, due 2027-02-10) and rear (CAL-2026-0145, due 2027-03-11).
    before = probe_records(REGISTRY, "KCB 781C", datetime(2027, 2, 9, 23, tzinfo=UTC))
    assert [(p["probe_id"], p["certificate"], p["overdue"]) for p in before] == [
        ("front", "CAL-2026-0144", False),
        ("rear", "CAL-2026-0145", False),
    ]
    on_due_day = probe_records(REGISTRY, "KCB 781C", datetime(2027, 2, 10, 6, tzinfo=UTC))
    assert [p["overdue"] for p in on_due_day] == [True, False]
    assert probe_records(REGISTRY, "NOT A TRUCK", datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_the_pdf_and_csv_show_the_probes_and_mark_an_overdue_one() -> None:
    probes = probe_records(REGISTRY, "KCB 781C", datetime(2027, 2, 20, tzinfo=UTC))
    c = content(probes=probes)
    text = _text(trip_pdf(c, "Africa/Nairobi"))
    assert "Probes and calibration" in text
    assert "CAL-2026-0144" in text
    assert "OVERDUE during this trip" in text  # front, due 2027-02-10
    assert "in calibration" in text  # rear
    rows = list(csv.reader(io.StringIO(trip_csv(c).decode())))
    assert [
        "probe",
        "rear",
        "rear",
        "-0.1",
        "CAL-2026-0145",
        "2026-03-11",
        "2027-03-11",
        "False",
    ] in rows


def test_a_truck_without_a_device_record_says_so_and_old_versions_render() -> None:
    assert "No device record" in _text(trip_pdf(content(probes=[]), "UTC"))
    assert "Probes and calibration" not in _text(trip_pdf(content(), "UTC"))
