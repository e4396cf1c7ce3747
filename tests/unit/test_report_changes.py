"""The reports' "Changes on the record" section, pure: the short "before -> after", the trip
digest folding the rows in (unchanged without rows), the CSV rows in UTC after every other
section, the PDF in the display zone, and a version stored before the section renders
without it."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from pypdf import PdfReader
from tests.unit.test_report_sensor_faults import content
from tests.unit.test_shipment_report_render import content as shipment_content

from logistream.batch.reports.changes import (
    CHANGE_CHARS,
    changes_lines,
    short_change,
    with_changes,
)
from logistream.batch.reports.changes_render import changes_csv_rows
from logistream.batch.reports.render import trip_csv, trip_pdf
from logistream.batch.reports.shipment_render import render_shipment

HASH = "cd" * 32


def section() -> list[dict[str, Any]]:
    return [
        {
            "seq": 7,
            "at": "2025-03-03T06:00:00+00:00",
            "actor": "ann",
            "source": "dashboard",
            "organisation": None,
            "action": "set_mode",
            "subject_kind": "mode",
            "subject_id": "m-1",
            "reason": "washout after fish",
            "change": "status: - -> active",
            "before": None,
            "after": {"status": "active"},
            "row_hash": HASH,
        },
        {
            "seq": 9,
            "at": "2025-03-03T07:00:00+00:00",
            "actor": "carla",
            "source": "api",
            "organisation": "carrier",
            "action": "end_mode",
            "subject_kind": "mode",
            "subject_id": "m-1",
            "reason": None,
            "change": "status: active -> ended",
            "before": {"status": "active"},
            "after": {"status": "ended"},
            "row_hash": "ef" * 32,
        },
    ]


def test_short_change_lists_the_keys_that_differ_with_a_dash_for_a_missing_side() -> None:
    assert short_change(None, {"status": "active", "version": 1}) == (
        "status: - -> active; version: - -> 1"
    )
    assert short_change({"status": "active", "v": 2}, {"status": "cancelled", "v": 2}) == (
        "status: active -> cancelled"
    )
    assert short_change({"approved_by": None}, {}) == "approved_by: null -> -"
    assert short_change(None, None) == ""
    assert short_change({"lots": ["A", "B"]}, {"lots": ["A"]}) == 'lots: ["A", "B"] -> ["A"]'


def test_short_change_cuts_long_values_and_the_whole_line() -> None:
    one = short_change(None, {"reason": "x" * 100})
    assert one == "reason: - -> " + "x" * 39 + "…"
    many = short_change(None, {f"k{i:02}": "y" * 30 for i in range(20)})
    assert len(many) == CHANGE_CHARS
    assert many.endswith("…")


def test_without_rows_the_digest_and_format_are_unchanged() -> None:
    assert with_changes("ab" * 32, "logistream-readings-v1", []) == (
        "ab" * 32,
        "logistream-readings-v1",
    )


def test_with_rows_the_digest_covers_each_rows_seq_and_chain_hash() -> None:
    digest, fmt = with_changes("ab" * 32, "logistream-readings-v1+modes-v1", section())
    assert fmt == "logistream-readings-v1+modes-v1+changes-v1"
    text = "ab" * 32 + f"\nchange\t7\t{HASH}\nchange\t9\t{'ef' * 32}\n"
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert len(changes_lines(section())) == 2
    # A row recorded later changes the digest.
    more = [*section(), {**section()[0], "seq": 10, "row_hash": "01" * 32}]
    assert with_changes("ab" * 32, "logistream-readings-v1", more)[0] != digest


def test_the_trip_csv_lists_the_changes_in_utc_after_every_other_section() -> None:
    table = list(csv.reader(io.StringIO(trip_csv(content(changes=section())).decode())))
    header = next(r for r in table if r[:1] == ["changes on the record"])
    rows = [dict(zip(header[1:], r[1:], strict=True)) for r in table if r[:1] == ["change"]]
    assert rows[1] == {
        "seq": "9",
        "at": "2025-03-03T07:00:00+00:00",
        "actor": "carla",
        "source": "api",
        "organisation": "carrier",
        "action": "end_mode",
        "subject_kind": "mode",
        "subject_id": "m-1",
        "reason": "",
        "change": "status: active -> ended",
    }
    assert table.index(header) > max(
        i for i, r in enumerate(table) if r[:1] in (["versions"], ["methods"])
    )


def test_the_pdfs_show_the_section_in_the_display_zone() -> None:
    pdf = trip_pdf(content(changes=section()), "Africa/Nairobi")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Changes on the record" in text
    assert "2025-03-03 09:00:00 EAT" in text  # seq 7 at 06:00 UTC
    assert "washout after fish" in text
    assert "carla (carrier)" in text
    shipment = shipment_content()
    shipment["changes"] = section()
    pdf = render_shipment(shipment, "pdf", "Africa/Nairobi")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Changes on the record" in text
    assert "status: active -> ended" in text
    table = list(csv.reader(io.StringIO(render_shipment(shipment, "csv").decode())))
    assert [r[:3] for r in table if r[:1] == ["change"]] == [
        ["change", "", "7"],
        ["change", "", "9"],
    ]


def test_no_rows_says_none_and_a_version_stored_before_the_section_has_none() -> None:
    pdf = trip_pdf(content(changes=[]))
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Changes on the record" in text
    assert "None recorded." in text
    old = content()
    assert changes_csv_rows(old) == []
    assert "Changes on the record" not in " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(trip_pdf(old))).pages
    )
    assert not [r for r in csv.reader(io.StringIO(trip_csv(old).decode())) if r[:1] == ["change"]]
