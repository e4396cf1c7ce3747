"""A shipment names only probes its truck has in devices.toml; a truck with one unnamed probe
(no probe list, or no device entry) takes no probe ids."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

import logistream.shipments
from logistream.registry import load_registry
from logistream.registry.devices import NO_DEVICES
from logistream.shipments.errors import ShipmentError
from logistream.shipments.parse import parse_shipment

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"


def _example(**changes: Any) -> dict[str, Any]:
    with EXAMPLE.open("rb") as file:
        data = tomllib.load(file)
    data.update(changes)
    return data


def test_the_trucks_own_probes_are_accepted() -> None:
    assert parse_shipment(_example(probes=["rear"]), REGISTRY).probes == ("rear",)


def test_a_probe_the_truck_does_not_have_is_refused_naming_its_probes() -> None:
    with pytest.raises(ShipmentError) as caught:
        parse_shipment(_example(probes=["front", "middle"]), REGISTRY)
    assert caught.value.field == "probes[1]"
    message = str(caught.value)
    assert message.startswith("probes[1]: KCB 781C has no probe 'middle'")
    assert "front, rear" in message
    assert "\n" not in message


def test_a_truck_with_one_unnamed_probe_takes_no_probe_ids() -> None:
    # KCE 564E's device lists no probes: its single probe has no id.
    device = REGISTRY.devices.for_truck("KCE 564E")
    assert device is not None
    assert [p.probe_id for p in device.probes] == [None]
    with pytest.raises(ShipmentError, match=r"^probes\[0\]: KCE 564E has no probe 'front'; "
                       r"the truck has one unnamed probe"):  # fmt: skip
        parse_shipment(_example(truck_id="KCE 564E", probes=["front"]), REGISTRY)
    assert parse_shipment(_example(truck_id="KCE 564E", probes=[]), REGISTRY).probes == ()


def test_a_truck_without_a_device_entry_takes_no_probe_ids() -> None:
    without_devices = dataclasses.replace(REGISTRY, devices=NO_DEVICES)
    with pytest.raises(ShipmentError, match=r"^probes\[0\]: KCB 781C has no probe 'front'"):
        parse_shipment(_example(), without_devices)
    assert parse_shipment(_example(probes=[]), without_devices).probes == ()
