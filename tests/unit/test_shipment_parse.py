"""Shipment files: the vaccines example parses; each bad input is refused with one line naming
the field to fix."""

from __future__ import annotations

import copy
import json
import textwrap
import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import logistream.shipments
from logistream.errors import ConfigError
from logistream.registry import load_registry
from logistream.shipments import parse as parse_module
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import load_shipment_file, parse_shipment

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"


def _example() -> dict[str, Any]:
    with EXAMPLE.open("rb") as file:
        return tomllib.load(file)


def test_the_vaccines_example_parses() -> None:
    shipment = load_shipment_file(EXAMPLE, REGISTRY)
    assert shipment.shipment_id == "SHP-2026-0118"
    assert shipment.cargo == "vaccines"
    assert shipment.truck_id == "KCB 781C"
    assert shipment.probes == ("front", "rear")
    assert shipment.shipper.org_id == "kemsa"
    assert [lot.number for lot in shipment.lots] == ["MR-2611", "MR-2612", "MR-2613", "DIL-0907"]
    assert shipment.lot("MR-2611") is not None
    assert shipment.lots[0].quantity == 40
    assert shipment.lots[0].expiry == date(2027, 9, 30)
    assert [(s.stop_id, s.kind) for s in shipment.stops] == [
        ("nairobi-central", "origin"),
        ("kisumu-depot", "drop"),
        ("kakamega-depot", "drop"),
        ("bungoma-depot", "destination"),
    ]
    kisumu = shipment.stops[1]
    assert kisumu.drops == ("MR-2611", "DIL-0907")
    assert kisumu.window_start == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert kisumu.geofence.contains(-0.0917, 34.7680)
    assert not shipment.stops[2].geofence.contains(-0.0917, 34.7680)
    assert shipment.stops[3].geofence.kind == "polygon"
    assert shipment.stops[3].geofence.contains(0.5635, 34.5606)


def test_the_same_shipment_as_json_parses_to_the_same_value(tmp_path: Path) -> None:
    as_json = tmp_path / "shipment.json"
    as_json.write_text(json.dumps(_example(), default=lambda v: v.isoformat()), encoding="utf-8")
    assert load_shipment_file(as_json, REGISTRY) == load_shipment_file(EXAMPLE, REGISTRY)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _swap_first_and_last_stop(data: dict[str, Any]) -> None:
    data["stops"][0]["kind"], data["stops"][-1]["kind"] = "destination", "origin"


KAKAMEGA_NEXT_TO_KISUMU = {"circle": {"lat": -0.0900, "lon": 34.7680, "radius_m": 400}}
BOWTIE = {"polygon": [[0.0, 34.0], [0.01, 34.01], [0.0, 34.01], [0.01, 34.0]]}

BAD_INPUTS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("unknown cargo", _set(("cargo",), "caviar"), "cargo", "unknown cargo profile 'caviar'"),
    ("unknown truck", _set(("truck_id",), "KZZ 000Z"), "truck_id", "unknown truck 'KZZ 000Z'"),
    (
        "stop without a geofence",
        _delete(("stops", 1, "geofence")),
        "stops[1].geofence",
        "give the stop a circle or a polygon",
    ),
    (
        "self-intersecting polygon",
        _set(("stops", 3, "geofence"), BOWTIE),
        "stops[3].geofence.polygon.points",
        "Self-intersection",
    ),
    (
        "polygon of 2 points",
        _set(("stops", 3, "geofence"), {"polygon": [[0.56, 34.55], [0.57, 34.56]]}),
        "stops[3].geofence.polygon.points",
        "at least 3 distinct corners",
    ),
    (
        "overlapping consecutive stops",
        _set(("stops", 2, "geofence"), KAKAMEGA_NEXT_TO_KISUMU),
        "stops[2].geofence",
        "overlaps the geofence of the stop before ('kisumu-depot')",
    ),
    ("lot without a number", _delete(("lots", 1, "number")), "lots[1].number", "lot number"),
    ("lot with an empty number", _set(("lots", 1, "number"), ""), "lots[1].number", "lot number"),
    (
        "duplicate lot numbers",
        _set(("lots", 2, "number"), "MR-2611"),
        "lots[2].number",
        "'MR-2611' is listed twice",
    ),
    (
        "drop of a lot not in the shipment",
        _set(("stops", 2, "drops"), ["MR-9999"]),
        "stops[2].drops",
        "lot 'MR-9999' is not among the shipment's lots",
    ),
    (
        "first stop not an origin",
        _set(("stops", 0, "kind"), "drop"),
        "stops[0].kind",
        "the first stop must be 'origin'",
    ),
    (
        "last stop not a destination",
        _set(("stops", 3, "kind"), "drop"),
        "stops[3].kind",
        "the last stop must be 'destination'",
    ),
    ("origin and destination swapped", _swap_first_and_last_stop, "stops[0].kind", "'origin'"),
    (
        "window ending before it starts",
        _set(("stops", 1, "window_end"), datetime.fromisoformat("2026-12-08T12:00:00+03:00")),
        "stops[1].window_end",
        "is before window_start",
    ),
    (
        "window without a UTC offset",
        _set(("stops", 1, "window_start"), datetime(2026, 12, 8, 13, 0)),
        "stops[1].window_start",
        "has no UTC offset",
    ),
    ("unknown top-level field", _set(("colour",), "blue"), "colour", "unknown field"),
    ("unknown lot field", _set(("lots", 0, "batch"), "x"), "lots[0].batch", "unknown field"),
    (
        "unknown stop field",
        _set(("stops", 1, "eta"), "soon"),
        "stops[1].eta",
        "unknown field",
    ),
    (
        "unknown circle field",
        _set(("stops", 1, "geofence", "circle", "radius"), 500),
        "stops[1].geofence.circle.radius",
        "unknown field",
    ),
    (
        "circle without a radius",
        _delete(("stops", 1, "geofence", "circle", "radius_m")),
        "stops[1].geofence.circle.radius_m",
        "missing",
    ),
    ("missing receiver", _delete(("receiver",)), "receiver", "missing"),
]


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_a_bad_shipment_is_refused_with_one_line_naming_the_field(
    edit: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    data = copy.deepcopy(_example())
    edit(data)
    with pytest.raises(ShipmentError) as refused:
        parse_shipment(data, REGISTRY)
    message = str(refused.value)
    assert refused.value.field == field
    assert message.startswith(f"{field}: ")
    assert words in message
    assert "\n" not in message
    assert isinstance(refused.value, ConfigError)


def test_files_that_are_not_toml_or_json_or_are_broken_are_refused(tmp_path: Path) -> None:
    yaml = tmp_path / "shipment.yaml"
    yaml.write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(ShipmentError, match=r"ends in \.toml or \.json"):
        load_shipment_file(yaml, REGISTRY)
    broken = tmp_path / "shipment.toml"
    broken.write_text("shipment_id = \n", encoding="utf-8")
    with pytest.raises(ShipmentError, match="is not valid TOML"):
        load_shipment_file(broken, REGISTRY)
    with pytest.raises(ShipmentError, match="cannot be read"):
        load_shipment_file(tmp_path / "missing.json", REGISTRY)


def test_the_example_in_the_parsers_docstring_parses() -> None:
    doc = parse_module.__doc__ or ""
    example = textwrap.dedent(doc.split("::\n", 1)[1].split("\nRefused", 1)[0])
    shipment = parse_shipment(tomllib.loads(example), REGISTRY)
    assert [stop.kind for stop in shipment.stops] == ["origin", "destination"]
    assert shipment.stops[1].geofence.contains(-0.092, 34.768)
