"""Shipments for people in a terminal: the summary of one and the table of many, in the display
zone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import logistream.shipments
from logistream.registry import load_registry
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import ShipmentChange
from logistream.shipments.text import summary, table
from logistream.shipments.wire import ShipmentRecord, StageOverride

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
AT = datetime(2026, 12, 8, 7, 40, tzinfo=UTC)
ZONE = "Africa/Nairobi"


def test_the_summary_names_parties_truck_status_lots_stops_and_changes() -> None:
    override = StageOverride("at_stop", 1, "cli:carol", AT, "GPS lost in the yard")
    record = ShipmentRecord(SHIPMENT, "active", 2, AT, override)
    changes = [
        ShipmentChange(1, "created", "cli:ann", AT, "", None),
        ShipmentChange(2, "stage_overridden", "cli:carol", AT, "GPS lost in the yard",
                       {"stage": "at_stop", "stop_index": 1}),
    ]  # fmt: skip
    text = "\n".join(summary(record, ZONE, changes))
    assert text.splitlines()[0] == "Shipment SHP-2026-0118  (reference KEMSA/EPI/2026/118)"
    assert (
        "Kenya Medical Supplies Authority, central vaccine store [kemsa] → "
        "Ministry of Health, western region vaccine depots [moh-western]"
    ) in text
    assert "truck KCB 781C (front, rear), cargo profile vaccines" in text
    assert "status active, version 2, updated 2026-12-08 10:40:00 EAT" in text
    assert (
        "stage set by hand: at_stop (stop 1, kisumu-depot) by cli:carol at "
        "2026-12-08 10:40:00 EAT: GPS lost in the yard"
    ) in text
    lot_line = next(line for line in text.splitlines() if line.strip().startswith("MR-2611"))
    assert lot_line.split()[-3:] == ["40", "carton", "2027-09-30"]
    kisumu = next(line for line in text.splitlines() if "kisumu-depot  " in line)
    assert "2026-12-08 13:00–14:30 EAT" in kisumu
    assert "MR-2611, DIL-0907" in kisumu
    assert "circle 500 m around -0.09170, 34.76800" in kisumu
    assert "polygon of 4 corners" in text
    assert "  v1 created by cli:ann at 2026-12-08 10:40:00 EAT" in text
    assert (
        "  v2 stage overridden to at_stop (stop 1) by cli:carol at 2026-12-08 10:40:00 EAT: "
        "GPS lost in the yard"
    ) in text


def test_a_window_across_midnight_is_dated_at_both_ends_and_no_probes_means_every_probe() -> None:
    origin = dataclasses.replace(
        SHIPMENT.stops[0],
        window_start=datetime(2026, 12, 8, 20, 30, tzinfo=UTC),
        window_end=datetime(2026, 12, 8, 21, 30, tzinfo=UTC),
    )
    shipment = dataclasses.replace(SHIPMENT, probes=(), stops=(origin, *SHIPMENT.stops[1:]))
    text = "\n".join(summary(ShipmentRecord(shipment, "cancelled", 3, AT), ZONE))
    assert "2026-12-08 23:30–2026-12-09 00:30 EAT" in text
    assert "truck KCB 781C (every probe of the truck)" in text
    assert "status cancelled, version 3" in text
    assert "Changes" not in text


def test_the_table_has_one_line_per_shipment_under_a_header() -> None:
    other = dataclasses.replace(SHIPMENT, shipment_id="SHP-2026-0120", truck_id="KCD 219D")
    lines = table(
        [ShipmentRecord(SHIPMENT, "active", 1, AT), ShipmentRecord(other, "cancelled", 2, AT)],
        ZONE,
    )
    assert len(lines) == 3
    assert lines[0].split()[:2] == ["SHIPMENT", "REFERENCE"]
    assert lines[1].split()[:6] == [
        "SHP-2026-0118", "KEMSA/EPI/2026/118", "kemsa", "→", "moh-western", "KCB",
    ]  # fmt: skip
    assert " active " in lines[1]
    assert "2026-12-08 06:00–07:00 EAT" in lines[1]
    assert lines[2].startswith("SHP-2026-0120")
    assert " cancelled " in lines[2]
    # Columns line up: every line puts the status at the same place.
    assert lines[1].index(" active ") == lines[2].index(" cancelled ")
