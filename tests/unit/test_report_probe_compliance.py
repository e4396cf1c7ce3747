"""The trip report of a truck with several probes: each probe's compliance (MKT, time out of
range, excursions, verdict) beside its calibration record, excursions named by probe, one chart
line per probe; a single-probe report renders as before."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader
from tests.unit.test_report_sensor_faults import content

from logistream.batch.reports.probes import probe_records
from logistream.batch.reports.render import trip_csv, trip_pdf
from logistream.registry import load_registry

REGISTRY = load_registry()
END = datetime(2027, 2, 20, tzinfo=UTC)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _row(probe_id: str, verdict: str, reason: str, **figures: Any) -> dict[str, Any]:
    base = {
        "probe_id": probe_id,
        "readings": 240,
        "min_c": 4.6,
        "max_c": 5.4,
        "mean_c": 5.0,
        "tor_s": 0.0,
        "tor_budget_s": 3600.0,
        "gap_s": 0.0,
        "mkt_c": 5.01,
        "hard_limit_passed": False,
        "excursions": 0,
        "tor_alarm_at": None,
        "verdict": verdict,
        "reason": reason,
    }
    base.update(figures)
    return base


COMPLIANCE = [
    _row("front", "pass", "always within range"),
    _row(
        "rear",
        "review",
        "excursions within budget: out of range 12.5 min",
        tor_s=750.0,
        excursions=1,
        mkt_c=6.37,
        max_c=10.4,
    ),
]


def test_each_probe_record_carries_its_own_figures() -> None:
    records = probe_records(REGISTRY, "KCB 781C", END, COMPLIANCE)
    assert [(r["probe_id"], r["certificate"], r["verdict"], r["mkt_c"]) for r in records] == [
        ("front", "CAL-2026-0144", "pass", 5.01),
        ("rear", "CAL-2026-0145", "review", 6.37),
    ]
    assert records[1]["tor_s"] == 750.0
    assert records[1]["excursions"] == 1
    # Without per-probe rows (a single unnamed probe), the records are as they were.
    assert probe_records(REGISTRY, "KCB 781C", END) == probe_records(REGISTRY, "KCB 781C", END, [])
    assert "verdict" not in probe_records(REGISTRY, "KCB 781C", END)[0]


def test_a_probe_that_read_without_a_registry_record_is_listed_with_its_figures() -> None:
    records = probe_records(REGISTRY, "KCB 781C", END, [*COMPLIANCE, _row("cab", "pass", "ok")])
    assert [r["probe_id"] for r in records] == ["front", "rear", "cab"]
    cab = records[2]
    assert cab["certificate"] is None
    assert cab["position"] == "unregistered"
    assert cab["verdict"] == "pass"
    # A truck without a device record still gets its probes' figures.
    (only,) = probe_records(REGISTRY, "NOT A TRUCK", END, [_row("x", "fail", "hard limit")])
    assert (only["probe_id"], only["verdict"], only["offset_c"]) == ("x", "fail", None)
    # A registered probe that sent nothing during the trip: its record, no figures.
    front_only = probe_records(REGISTRY, "KCB 781C", END, COMPLIANCE[:1])
    assert front_only[1]["probe_id"] == "rear"
    assert front_only[1]["verdict"] is None


def test_the_pdf_and_csv_show_each_probes_compliance_beside_its_calibration() -> None:
    excursion = {
        "kind": "high",
        "start_time": "2025-03-03T05:40:00+00:00",
        "end_time": "2025-03-03T05:52:30+00:00",
        "ongoing": False,
        "duration_s": 750.0,
        "out_s": 750.0,
        "peak_c": 10.4,
        "peak_at": "2025-03-03T05:46:00+00:00",
        "alarm_at": "2025-03-03T05:50:00+00:00",
        "lat": -1.2,
        "lon": 36.8,
        "probe_id": "rear",
    }
    series = [[1740978000.0 + 30 * i, 5.0, False, probe] for i in range(240) for probe in "fr"]
    c = content(
        probes=probe_records(REGISTRY, "KCB 781C", END, COMPLIANCE),
        excursions=[excursion],
        series=series,
        verdict="review",
        reason="rear probe: excursions within budget: out of range 12.5 min",
    )
    text = _text(trip_pdf(c, "UTC"))
    assert "Compliance per probe" in text
    assert "CAL-2026-0145" in text
    assert "6.37" in text  # the rear probe's MKT
    assert "12.5 min of 60.0 min" in text  # its time out of range against the budget
    assert "REVIEW" in text
    assert "PASS" in text
    assert "rear probe: excursions within budget" in text
    rows = list(csv.reader(io.StringIO(trip_csv(c).decode())))
    header = next(r for r in rows if r and r[0] == "probes")
    rear = next(r for r in rows if r[:2] == ["probe", "rear"])
    assert dict(zip(header[1:], rear[1:], strict=True)) == {
        "probe_id": "rear",
        "position": "rear",
        "offset_c": "-0.1",
        "certificate": "CAL-2026-0145",
        "calibrated": "2026-03-11",
        "due": "2027-03-11",
        "overdue": "False",
        "readings": "240",
        "mkt_c": "6.37",
        "tor_s": "750.0",
        "tor_budget_s": "3600.0",
        "excursions": "1",
        "verdict": "review",
        "reason": "excursions within budget: out of range 12.5 min",
    }
    exc_header = next(r for r in rows if r and r[0] == "excursions")
    assert exc_header[-1] == "probe_id"
    assert next(r for r in rows if r and r[0] == "excursion")[-1] == "rear"


def test_a_single_probe_report_has_no_probe_columns() -> None:
    c = content(probes=probe_records(REGISTRY, "KCB 781C", END))
    rows = list(csv.reader(io.StringIO(trip_csv(c).decode())))
    assert next(r for r in rows if r and r[0] == "probes")[-1] == "overdue"
    assert next(r for r in rows if r and r[0] == "excursions")[-1] == "lon"
    assert "Compliance per probe" not in _text(trip_pdf(c, "UTC"))
