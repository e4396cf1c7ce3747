"""Tables for people: labels with units, durations in h/min, names instead of ids, no None."""

from __future__ import annotations

import re
from typing import Any

import pytest

from logistream.registry import cached_registry
from logistream.serving import audits_data, table_labels
from logistream.serving.table_labels import column_for, duration_text, for_people, number_text

REGISTRY = cached_registry()
CTX = table_labels.context_of(REGISTRY, "Africa/Nairobi")
RAW_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 min"),
        (45, "45 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (540, "9 min"),
        (3599, "1 h 00 min"),
        (3600 * 3 + 5 * 60, "3 h 05 min"),
        (3600 * 26 + 59 * 60, "26 h 59 min"),
        (-120, "-2 min"),
    ],
)
def test_durations_read_in_hours_and_minutes(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(35.0, "35"), (12.01, "12.01"), (7.4049, "7.4"), (0.006, "0.01"), (3, "3"), (-0.001, "0")],
)
def test_numbers_have_at_most_two_decimals_none_trailing(value: float, text: str) -> None:
    assert number_text(value) == text


def test_every_known_and_unknown_column_gets_a_label_for_people() -> None:
    for name, column in table_labels.COLUMNS.items():
        assert not RAW_NAME.match(column.label), (name, column.label)
    assert column_for("mkt_c").label == "MKT (°C)"
    assert column_for("tor_min").label == "Time out of range"
    assert column_for("idling_s").label == "Time idling"
    # A column the batch layer adds later still reads as words, with its unit from its suffix.
    assert column_for("gap_s") == table_labels.Column("Gap", table_labels.Kind.SECONDS)
    assert column_for("longest_gap_s").label == "Longest gap"
    assert column_for("peak_speed_kmh").label == "Peak speed (km/h)"
    assert column_for("water_l").label == "Water (L)"
    assert column_for("odd").label == "Odd"


def _trip(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "trip_id": "T-1", "truck_id": "KCA 452B", "cargo": "vaccines",
        "route": "naivasha_mombasa", "driver_id": "DRV-002", "verdict": "review",
        "reason": "excursions within budget", "mkt_c": 5.123456, "tor_min": 185.0,
        "excursions": 2, "min_c": 1.98765, "max_c": 9.25, "readings": 1200,
        "started": 1_700_000_000.0, "ended": 1_700_003_600.0,
    }  # fmt: skip
    row.update(changes)
    return row


def test_a_trip_row_reads_for_people() -> None:
    [row] = for_people([_trip()], CTX)
    assert row == {
        "Trip": "T-1",
        "Truck": "KCA 452B",
        "Cargo": REGISTRY.cargo["vaccines"].label,
        "Route": REGISTRY.routes["naivasha_mombasa"].label,
        "Driver": "DRV-002",
        "Verdict": "review",
        "Why": "excursions within budget",
        "MKT (°C)": 5.12,
        "Time out of range": "3 h 05 min",
        "Excursions": 2,
        "Lowest (°C)": 1.99,
        "Highest (°C)": 9.25,
        "Readings": 1200,
        "Started": "15 Nov 01:13:20",  # 22:13:20 UTC is 01:13:20 in Nairobi
        "Ended": "15 Nov 02:13:20",
    }


def test_the_frozen_trips_missing_mkt_says_why_and_the_column_stays_one_type() -> None:
    assert REGISTRY.cargo["frozen"].mkt_enabled is False  # cargo.toml: mkt = false
    rows = for_people(
        [
            _trip(),
            _trip(trip_id="T-2", cargo="frozen", mkt_c=None),
            _trip(trip_id="T-3", mkt_c=None),
        ],
        CTX,
    )
    assert [r["MKT (°C)"] for r in rows] == [
        "5.12",
        "not computed (does not apply to frozen goods)",
        "not computed (no plausible readings)",
    ]
    assert all(None not in r.values() for r in rows)


def test_missing_values_say_what_they_mean() -> None:
    [row] = for_people(
        [{"kind": "high", "ongoing": True, "minutes": 9.0, "peak_c": 12.5, "alarm_at": None}],
        CTX,
    )
    assert row == {
        "Kind": "high",
        "Still out at the trip's end": "yes",
        "Duration": "9 min",
        "Peak (°C)": 12.5,
        "Alarm due at": "none (shorter than the alarm delay)",
    }
    [recon] = for_people(
        [{"status": "unmatched_alert", "excursion_start": None, "late_s": None}], CTX
    )
    assert recon == {
        "Status": "unmatched alert",
        "Excursion started": "no excursion",
        "Alert late by": "—",
    }


def test_a_position_becomes_a_place_and_labels_can_be_overridden() -> None:
    voi = next(w for r in REGISTRY.routes.values() for w in r.waypoints if w.name == "Voi")
    [row] = for_people(
        [{"value": 48.04, "threshold": 20.0, "lat": voi.lat, "lon": voi.lon}],
        CTX,
        labels={"value": "Fuel lost (L)"},
    )
    assert row == {"Fuel lost (L)": 48.0, "Limit": 20.0, "Where": "at Voi"}


def test_the_summary_of_a_trip_is_labelled_lines_not_a_json_box() -> None:
    frozen = REGISTRY.cargo["frozen"]
    lines = audits_data.trip_figures(_trip(cargo="frozen", mkt_c=None), frozen, CTX)
    figures = {line["Figure"]: line["Value"] for line in lines}
    assert [line["Figure"] for line in lines][:4] == ["Trip", "Truck", "Cargo", "Allowed range"]
    assert figures["Cargo"] == frozen.label
    assert figures["Allowed range"] == "-25 to -18 °C"
    assert figures["MKT (°C)"] == "not computed (does not apply to frozen goods)"
    assert figures["Time out of range"] == "3 h 05 min"
    assert figures["Lowest (°C)"] == "1.99"
    assert figures["Route"] == REGISTRY.routes["naivasha_mombasa"].label
    assert all(isinstance(v, str) and v != "None" for v in figures.values())


def test_chart_bars_skip_missing_values_and_name_routes() -> None:
    records = [
        {"route": "naivasha_mombasa", "l_per_100km": 31.456},
        {"route": "nairobi_kisumu", "l_per_100km": None},
        {"route": "somewhere_else", "l_per_100km": 28.0},
    ]
    assert table_labels.chart_rows(records, "route", "l_per_100km", CTX.route_labels) == [
        {"name": REGISTRY.routes["naivasha_mombasa"].label, "value": 31.46},
        {"name": "somewhere_else", "value": 28.0},
    ]


def test_a_temperature_just_past_a_limit_is_not_rounded_onto_it() -> None:
    [row] = for_people([{"max_c": 12.01, "peak_c": 12.01, "distance_km": 301.26}], CTX)
    assert row == {"Highest (°C)": 12.01, "Peak (°C)": 12.01, "Distance (km)": 301.3}
    assert column_for("probe_c").decimals == 2
    line = audits_data.batch_excursion_lines(
        [{"kind": "critical", "start": 0.0, "end": 5400.0, "ongoing": False, "peak_c": 12.01,
          "minutes": 90.0}],
        "UTC",
    )  # fmt: skip
    assert line == ["critical from 01 Jan 00:00:00 to 01 Jan 01:30:00, peak 12.01 °C, 1 h 30 min"]
