"""The body of POST /v1/shipments (pure): JSON decoding, values PostgreSQL cannot store refused
with their path, the file format's one-line refusals, and the list's keyset WHERE clause.
No servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import logistream.shipments
from logistream.api.shipment_input import NotJson, check_storable, decode_json, read_shipment
from logistream.api.shipment_schemas import EXAMPLE, ShipmentDocument
from logistream.reads.shipment_pages import ShipmentFilter, shipments_where
from logistream.registry import load_registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.wire import to_document

REGISTRY = load_registry()
EXAMPLE_FILE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"


def _document() -> dict[str, Any]:
    return to_document(load_shipment_file(EXAMPLE_FILE, REGISTRY))


def test_the_example_file_as_json_reads_back_as_the_same_shipment() -> None:
    body = json.dumps(_document()).encode()
    assert read_shipment(decode_json(body), REGISTRY) == load_shipment_file(EXAMPLE_FILE, REGISTRY)


def test_the_documented_example_is_a_valid_shipment_and_matches_its_schema() -> None:
    shipment = read_shipment(EXAMPLE, REGISTRY)
    assert shipment.shipment_id == "SHP-2026-0118"
    ShipmentDocument.model_validate(EXAMPLE)
    # What the API answers with (to_document) matches the documented schema too.
    ShipmentDocument.model_validate(_document())


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "cannot be read"),
        (b'{"a": ' + b"9" * 5000 + b"}", "cannot be read"),
    ],
)
def test_a_body_that_is_not_json_is_refused_with_a_sentence(body: bytes, said: str) -> None:
    with pytest.raises(NotJson, match=said):
        decode_json(body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.__setitem__("reference", "KEMSA\x00"), "reference"),
        (lambda d: d["stops"][1].__setitem__("name", "Kakamega \ud800"), "stops[1].name"),
        (lambda d: d["lots"][0].__setitem__("quantity", 2**60), "lots[0].quantity"),
        (lambda d: d["lots"][0].__setitem__("quantity", float("inf")), "lots[0].quantity"),
        (lambda d: d["shipper"].__setitem__("id\x00", "x"), "shipper"),
    ],
)
def test_values_postgresql_cannot_store_are_refused_with_their_path(
    change: Any, field: str
) -> None:
    document = _document()
    change(document)
    with pytest.raises(ShipmentError) as refused:
        read_shipment(document, REGISTRY)
    assert refused.value.field == field
    assert "\n" not in str(refused.value)


def test_the_file_formats_refusals_come_through_unchanged() -> None:
    unknown_cargo = {**_document(), "cargo": "plutonium"}
    with pytest.raises(ShipmentError) as refused:
        read_shipment(unknown_cargo, REGISTRY)
    assert refused.value.field == "cargo"
    assert str(refused.value).startswith("cargo: unknown cargo profile 'plutonium'; use one of")
    with pytest.raises(ShipmentError, match=r"^body: must be a JSON object") as refused:
        read_shipment([_document()], REGISTRY)
    long_id = {**_document(), "shipment_id": "S" * 129}
    with pytest.raises(ShipmentError, match=r"^shipment_id: is 129 characters; use at most 128"):
        read_shipment(long_id, REGISTRY)


def test_storable_values_pass() -> None:
    check_storable({"a": [1, 2.5, True, None, "Kisumu – depot °C"], "b": {"c": -(2**53)}})


def test_the_list_where_clause_filters_and_continues_after_the_cursor() -> None:
    at = datetime(2026, 12, 8, 5, tzinfo=UTC)
    where, params = shipments_where(ShipmentFilter(), None)
    assert (where, params) == ("true", [])
    where, params = shipments_where(
        ShipmentFilter(status="active", shipper="kemsa", truck="KCB 781C", ids=("a", "b")),
        (at, "SHP-1"),
    )
    assert where == (
        "status = %s AND shipper_id = %s AND truck_id = %s AND shipment_id = ANY(%s) "
        "AND (created_at, shipment_id) < (%s, %s)"
    )
    assert params == ["active", "kemsa", "KCB 781C", ["a", "b"], at, "SHP-1"]
    # A stage no tracked shipment is at: no id matches (not "no filter").
    where, params = shipments_where(ShipmentFilter(ids=()), None)
    assert (where, params) == ("shipment_id = ANY(%s)", [[]])
