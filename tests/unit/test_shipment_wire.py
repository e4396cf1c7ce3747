"""The record on the ``shipments`` topic: the file format round trip, a cancelled record, a
stage override, and bytes that are not a record refused with one line naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import logistream.shipments
from logistream.registry import load_registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file, parse_shipment
from logistream.shipments.wire import (
    ShipmentRecord,
    StageOverride,
    check_override,
    decode_record,
    encode_record,
    stop_index_for,
    to_document,
)

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
AT = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)


def test_the_example_round_trips_through_the_file_format_and_json() -> None:
    document = to_document(SHIPMENT)
    assert parse_shipment(document, REGISTRY) == SHIPMENT
    # JSON-ready: the same after a trip through json (dates are ISO strings).
    assert parse_shipment(json.loads(json.dumps(document)), REGISTRY) == SHIPMENT
    assert document["stops"][3]["geofence"]["polygon"][0] == [0.5655, 34.5586]
    assert document["stops"][0]["geofence"]["circle"] == {
        "lat": -1.2864, "lon": 36.8172, "radius_m": 300.0
    }  # fmt: skip
    assert document["lots"][0]["expiry"] == "2027-09-30"


def test_a_lot_without_expiry_round_trips() -> None:
    document = to_document(SHIPMENT)
    del document["lots"][0]["expiry"]
    shipment = parse_shipment(document, REGISTRY)
    assert shipment.lots[0].expiry is None
    assert "expiry" not in to_document(shipment)["lots"][0]
    assert parse_shipment(to_document(shipment), REGISTRY) == shipment


def test_an_active_record_round_trips() -> None:
    record = ShipmentRecord(SHIPMENT, "active", 1, AT)
    raw = encode_record(record)
    assert decode_record(raw, REGISTRY) == record
    assert json.loads(raw)["override"] is None


def test_a_cancelled_record_round_trips_with_its_offset_kept() -> None:
    eat = timezone(timedelta(hours=3))
    record = ShipmentRecord(SHIPMENT, "cancelled", 2, datetime(2026, 12, 8, 6, 30, tzinfo=eat))
    decoded = decode_record(encode_record(record), REGISTRY)
    assert decoded == record
    assert decoded.status == "cancelled"
    assert decoded.version == 2
    assert decoded.updated_at.utcoffset() == timedelta(hours=3)


def test_a_record_with_an_override_round_trips() -> None:
    override = StageOverride("at_stop", 2, "cli:ann", AT, "GPS lost in the depot yard")
    record = ShipmentRecord(SHIPMENT, "active", 3, AT + timedelta(minutes=1), override)
    decoded = decode_record(encode_record(record), REGISTRY)
    assert decoded == record
    assert decoded.override == override
    assert json.loads(encode_record(record))["override"]["stage"] == "at_stop"


def test_the_stop_index_a_stage_implies() -> None:
    assert stop_index_for(SHIPMENT, "at_origin") == 0
    assert stop_index_for(SHIPMENT, "delivered") == 3
    assert stop_index_for(SHIPMENT, "at_destination") == 3
    assert stop_index_for(SHIPMENT, "at_stop") is None  # two drops: say which
    assert stop_index_for(SHIPMENT, "in_transit") is None


@pytest.mark.parametrize(
    ("stage", "index", "expected"),
    [
        ("at_stop", 0, "stop_index: 0 does not fit stage 'at_stop' on 4 stops; give 1 to 2"),
        ("at_stop", 3, "stop_index: 3 does not fit stage 'at_stop' on 4 stops; give 1 to 2"),
        ("in_transit", 3, "give 0 to 2"),
        ("at_origin", 1, "give 0"),
        ("delivered", 0, "give 3"),
    ],
)
def test_an_override_whose_stop_does_not_fit_its_stage_is_refused(
    stage: str, index: int, expected: str
) -> None:
    with pytest.raises(ShipmentError) as caught:
        check_override(SHIPMENT, StageOverride(stage, index, "ann", AT, "why"))  # type: ignore[arg-type]
    assert expected in str(caught.value)
    assert caught.value.field == "stop_index"


def test_an_override_without_reason_is_refused() -> None:
    with pytest.raises(ShipmentError, match=r"^reason: missing"):
        check_override(SHIPMENT, StageOverride("at_origin", 0, "ann", AT, "  "))


def _raw(**changes: object) -> bytes:
    document = json.loads(encode_record(ShipmentRecord(SHIPMENT, "active", 1, AT)))
    document.update(changes)
    return json.dumps(document).encode()


BAD: list[tuple[str, bytes, str]] = [
    ("not JSON", b"\xff{not json", "record: is not UTF-8 JSON"),
    ("not an object", b"[1, 2]", "record: must be a JSON object"),
    ("unknown field", _raw(colour="red"), "record.colour: unknown field"),
    ("no shipment", _raw(shipment=None), "record.shipment: missing or not an object"),
    ("bad status", _raw(status="lost"), "record.status: 'lost' is not one of active"),
    ("version 0", _raw(version=0), "record.version: 0 is not 1 or more"),
    ("version as text", _raw(version="2"), "record.version: missing or not an integer"),
    ("naive time", _raw(updated_at="2026-12-08T03:00:00"), "record.updated_at: "),
    (
        "override on a stop that does not fit",
        _raw(
            override={
                "stage": "at_stop",
                "stop_index": 9,
                "by": "a",
                "at": AT.isoformat(),
                "reason": "r",
            }
        ),
        "record.override.stop_index: 9 does not fit",
    ),
    (
        "override of an unknown stage",
        _raw(
            override={
                "stage": "lost",
                "stop_index": 0,
                "by": "a",
                "at": AT.isoformat(),
                "reason": "r",
            }
        ),
        "record.override.stage: 'lost' is not a stage",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bytes_that_are_not_a_record_are_refused_with_one_line(raw: bytes, expected: str) -> None:
    with pytest.raises(ShipmentError) as caught:
        decode_record(raw, REGISTRY)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_a_shipment_the_registry_refuses_is_refused_with_its_field_path() -> None:
    document = to_document(SHIPMENT)
    document["cargo"] = "caviar"
    with pytest.raises(ShipmentError, match=r"^record\.shipment\.cargo: unknown cargo profile"):
        decode_record(_raw(shipment=document), REGISTRY)
