"""The shipment report rendered from stored content (no servers): the PDF names each figure in
full with its method and shows each lot's verdict and the quality manager's decision; the CSV
has a row per lot figure; JSON is the content itself."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pypdf import PdfReader

from logistream.batch.reports.methods import method_params
from logistream.batch.reports.shipment import lot_figure_names
from logistream.batch.reports.shipment_render import render_shipment
from logistream.coldchain.params import DEFAULT_PARAMS
from logistream.figure_names import methods_json
from logistream.registry import load_registry

VACCINES = load_registry().cargo["vaccines"]


def _lot(number: str, verdict: str, reason: str, **extra: Any) -> dict[str, Any]:
    lot: dict[str, Any] = {
        "lot": number,
        "product": "Measles-rubella vaccine",
        "quantity": 40.0,
        "unit": "carton",
        "expiry": "2027-09-30",
        "drop_stop": 1,
        "drop_stop_name": "Kisumu regional vaccine depot",
        "carriage": {
            "start": "2026-11-30T03:00:00+00:00",
            "end": "2026-11-30T10:00:00+00:00",
            "ended_by": "arrival",
            "seconds": 25200.0,
        },
        "stages": [],
        "figures": {
            "readings": 170, "probes": ["front", "rear"], "min_c": 5.0, "max_c": 9.5,
            "mkt_c": 5.31, "tor_s": 900.0, "tor_budget_s": 3600.0, "excursions": 1,
            "longest_excursion_s": 900.0, "hard_limit_passed": False, "sensor_fault_s": 0.0,
            "coverage": 1.0, "carriage_s": 25200.0,
        },
        "excursions": [],
        "sensor_faults": [],
        "notifications": [],
        "alerts": [],
        "proof_of_delivery": None,
        "verdict": verdict,
        "reason": reason,
        "release": None,
        "releases": [],
    }  # fmt: skip
    lot.update(extra)
    return lot


def content() -> dict[str, Any]:
    methods = methods_json(method_params(VACCINES, DEFAULT_PARAMS))
    methods.update({f.key: f.as_json() for f in lot_figure_names()})
    decision = {
        "decision": "quarantined",
        "by": "qm-anna",
        "at": "2026-11-30T12:00:00+00:00",
        "reason": "excursion under review",
    }
    return {
        "report": "shipment report",
        "shipment_id": "SHP-2026-0118",
        "reference": "KEMSA/EPI/2026/118",
        "status": "delivered",
        "shipper": {"id": "kemsa", "name": "KEMSA"},
        "receiver": {"id": "moh-western", "name": "MoH western"},
        "cargo": "vaccines",
        "cargo_label": "Vaccines",
        "low_c": 2.0,
        "high_c": 8.0,
        "truck_id": "KCB 781C",
        "probes": ["front", "rear"],
        "stops": [],
        "stages": [
            {
                "stage": "at_origin",
                "stop": 0,
                "stop_id": "nbi",
                "stop_name": "Nairobi store",
                "at": "2026-11-30T03:00:00+00:00",
                "cause": "geofence",
            },
        ],
        "lots": [
            _lot("MR-2611", "pass", "always within range"),
            _lot(
                "MR-2612",
                "review",
                "excursions within budget: out of range 15.0 min",
                release=decision,
                releases=[decision],
            ),
        ],
        "verdict": "review",
        "reason": "lot MR-2612: excursions within budget: out of range 15.0 min",
        "readings": 8640,
        "digest": "ab" * 32,
        "digest_format": "logistream-readings-v1",
        "digest_selection": {
            "truck_id": "KCB 781C",
            "from": "2026-11-30T03:00:00+00:00",
            "to": "2026-11-30T14:10:00+00:00",
        },
        "methods": methods,
        "version": 1,
        "issued_at": "2026-11-30T16:00:00+00:00",
        "earlier_versions": [],
    }


def test_the_pdf_names_the_figures_in_full_and_shows_each_lot() -> None:
    data = render_shipment(content(), "pdf", "Africa/Nairobi")
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split()
    )
    assert "Shipment report — SHP-2026-0118" in text
    # The PDF font writes Δ as the increment sign ∆.
    assert "Mean kinetic temperature (MKT, USP <1079.2>, ∆H/R = 10,000 K)" in text
    assert "Lot release verdict (pass, review or fail): REVIEW" in text
    assert "Lot MR-2611" in text
    assert "quarantined by qm-anna" in text
    assert "Coverage (share of the carriage with readings)" in text
    assert "ab" * 32 in text.replace(" ", "")


def test_the_csv_has_a_row_per_lot_figure_and_json_is_the_content() -> None:
    rows = list(csv.reader(io.StringIO(render_shipment(content(), "csv").decode())))
    assert ["lot", "MR-2612", "verdict", "review"] in rows
    assert ["lot", "MR-2612", "tor_s", "900.0"] in rows
    assert ["lot", "MR-2612", "release", "quarantined"] in rows
    assert ["shipment", "", "digest", "ab" * 32] in rows
    assert json.loads(render_shipment(content(), "json")) == content()
