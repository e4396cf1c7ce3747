"""The probe named where a truck's or a trip's audited excursions are listed: the truck page's
table gains a "probe" column only when some excursion is a named probe's, the Audits page's
lines lead with the probe; a single-probe truck's are unchanged."""

from __future__ import annotations

from typing import Any

from logistream.serving import audits_data, truck_data

NAIROBI = "Africa/Nairobi"


def _audited(probe: str | None, start: float = 0.0) -> dict[str, Any]:
    return {"start": start, "end": start + 600.0, "kind": "high", "trip_id": "T1",
            "ongoing": False, "minutes_out": 10.0, "peak_c": 9.0, "alarm_at": None,
            "probe": probe}  # fmt: skip


def test_the_truck_pages_excursions_name_the_probe_of_a_truck_with_several() -> None:
    rows = truck_data.text_times(
        truck_data.excursion_rows([_audited("front"), _audited("rear", 60.0)], NAIROBI)
    )
    assert [row["probe"] for row in rows] == ["front", "rear"]
    assert list(rows[0]) == [
        "start", "end", "probe", "kind", "peak °C", "minutes out", "alarm", "trip"
    ]  # fmt: skip


def test_a_single_probe_trucks_excursions_have_no_probe_column() -> None:
    (row,) = truck_data.excursion_rows([_audited(None)], NAIROBI)
    assert "probe" not in row
    assert list(row) == ["start", "end", "kind", "peak °C", "minutes out", "alarm", "trip"]


def test_the_audits_excursion_lines_lead_with_a_named_probe() -> None:
    found = [
        {"kind": "high", "start": 0.0, "end": 1920.0, "ongoing": False, "peak_c": 9.4,
         "minutes": 32.0, "probe": "rear"},
        {"kind": "high", "start": 0.0, "end": 1920.0, "ongoing": False, "peak_c": 9.4,
         "minutes": 32.0, "probe": None},
    ]  # fmt: skip
    assert audits_data.batch_excursion_lines(found, "UTC") == [
        "rear probe: high from 01 Jan 00:00:00 to 01 Jan 00:32:00, peak 9.4 °C, 32 min",
        "high from 01 Jan 00:00:00 to 01 Jan 00:32:00, peak 9.4 °C, 32 min",
    ]
