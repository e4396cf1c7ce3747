"""Every figure of the trip report named in full with its method (PDF, CSV, JSON), the numbers
in the methods taken from the code that computes the figures, and a version issued before
methods were recorded still renders."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import pytest
from pypdf import PdfReader
from tests.unit.test_report_sensor_faults import content

from logistream.batch.reports.methods import h_over_r_k, method_params, trip_methods
from logistream.batch.reports.render import render, trip_csv, trip_pdf
from logistream.coldchain import mkt
from logistream.coldchain.params import DEFAULT_PARAMS, BatchParams
from logistream.figure_names import figure_table, methods_json
from logistream.registry import load_registry

REGISTRY = load_registry()
VACCINES = REGISTRY.cargo["vaccines"]
MKT_FULL = "Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = 10,000 K)"


def _text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    # Helvetica's delta glyph extracts as U+2206 INCREMENT; a table cell may wrap a long name.
    return text.replace("\u2206", "Δ")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _with_methods() -> dict[str, object]:
    return content(methods=trip_methods(REGISTRY, "vaccines", DEFAULT_PARAMS))


def test_the_pdf_names_mkt_in_full_with_its_constant_and_the_range() -> None:
    text = _flat(_text(trip_pdf(_with_methods(), "UTC")))
    assert MKT_FULL in text
    assert (
        "Time out of range (TOR, cumulative minutes outside 2–8 °C, against a budget of 60 min)"
        in text
    )
    assert "Excursion (a continuous stretch outside 2–8 °C; it alarms after 10 min above" in text
    assert "Figures and methods" in text
    # The method, with the parameters used: ΔH, the hold cap, the hysteresis.
    assert "ΔH = 83.144 kJ/mol (ΔH/R = 10,000 K)" in text
    assert "hysteresis of 0.3 °C" in text
    # Full name at first use: the summary table's MKT row comes before the methods section.
    assert text.index(MKT_FULL) < text.index("Figures and methods")


def test_the_json_carries_the_methods_of_every_figure() -> None:
    data = json.loads(render(_with_methods(), "json"))
    methods = data["methods"]
    assert methods["mkt_c"]["full"] == MKT_FULL
    assert methods["mkt_c"]["short"] == "MKT"
    assert "10,000 K" in methods["mkt_c"]["method"]
    assert methods["tor_s"]["short"] == "TOR"
    assert "budget of 60 min" in methods["tor_s"]["full"]
    # Every figure of the summary the report shows has its method.
    for key in ("mkt_c", "mean_c", "min_c", "max_c", "tor_s", "tor_budget_s", "gap_s"):
        assert methods[key]["method"], key
    for key in ("defrost_s", "excursions", "sensor_faults", "verdict", "digest"):
        assert methods[key]["method"], key


def test_the_csv_keeps_its_sections_and_adds_a_methods_block() -> None:
    old = trip_csv(content()).decode().splitlines()
    new = trip_csv(_with_methods()).decode().splitlines()
    # Machine readers keep working: the methods are one block after every other section, which
    # keep their rows and places; the first line is the same header as ever.
    block = new.index("methods,figure,short_name,full_name,method")
    assert new[:block] == old[: old.index("methods,figure,short_name,full_name,method")]
    assert new[block - 2].startswith("versions,")
    assert new[0] == "section,field,value"
    table = list(csv.reader(io.StringIO("\n".join(new))))
    header = next(r for r in table if r and r[0] == "methods")
    assert header == ["methods", "figure", "short_name", "full_name", "method"]
    rows = {r[1]: dict(zip(header[1:], r[1:], strict=True)) for r in table if r[:1] == ["method"]}
    assert rows["mkt_c"]["full_name"] == MKT_FULL
    assert rows["tor_s"]["short_name"] == "TOR"


def test_a_version_issued_before_methods_still_renders() -> None:
    old = content()  # no "methods": a version stored before this change
    text = _flat(_text(trip_pdf(old, "UTC")))
    assert "issued before reports recorded each figure's method" in text
    assert "MKT" in text
    table = list(csv.reader(io.StringIO(trip_csv(old).decode())))
    assert [r for r in table if r[:1] == ["method"]] == []
    assert "methods" not in json.loads(render(old, "json"))


def test_the_method_text_follows_the_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    # The gas constant the MKT maths reads: ΔH/R follows it.
    monkeypatch.setattr(mkt, "GAS_CONSTANT_J_MOL_K", 8.0)
    assert figure_table(method_params(VACCINES, DEFAULT_PARAMS))["mkt_c"].full == (
        "Mean kinetic temperature (MKT, USP <1079.2>, ΔH/R = 10,393 K)"
    )
    monkeypatch.undo()
    # The cargo profile's range, budget and delays, and the batch layer's hold cap.
    profile = replace(VACCINES, low_c=1.5, high_c=9.0, tor_budget_s=1800.0, alarm_delay_high_s=0)
    table = figure_table(method_params(profile, BatchParams(hold_max_s=600.0, gap_s=300.0)))
    assert table["tor_s"].full == (
        "Time out of range (TOR, cumulative minutes outside 1.5–9 °C, against a budget of 30 min)"
    )
    assert "at most 10 min" in table["mkt_c"].method
    assert "it alarms after 0 min above" in table["excursions"].full
    assert table["gap_s"].full.startswith("Data gaps (readings more than 5 min apart)")
    frozen = figure_table(method_params(REGISTRY.cargo["frozen"], DEFAULT_PARAMS))
    assert "ΔH/R" not in frozen["mkt_c"].full
    assert frozen["tor_s"].full.startswith("Time out of range (TOR, cumulative minutes outside −25")
    assert "MKT above" not in frozen["verdict"].method


def test_the_quoted_constant_is_the_one_the_mkt_maths_uses() -> None:
    # Two equal holds at 5 °C and 15 °C: the closed form with the quoted ΔH/R gives the MKT.
    h = h_over_r_k(VACCINES)
    assert h is not None
    t1, t2 = 5 + mkt.ZERO_C_IN_K, 15 + mkt.ZERO_C_IN_K
    expected = h / -math.log((math.exp(-h / t1) + math.exp(-h / t2)) / 2) - mkt.ZERO_C_IN_K
    got = mkt.mkt_weighted([5.0, 15.0], [60.0, 60.0], VACCINES.activation_energy_kj_mol)
    assert got == pytest.approx(expected, abs=1e-9)
    assert (
        f"ΔH/R = {h:,.0f} K"
        in methods_json(method_params(VACCINES, DEFAULT_PARAMS))["mkt_c"]["full"]
    )
