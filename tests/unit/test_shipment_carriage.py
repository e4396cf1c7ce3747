"""The carriage rule on the example vaccine shipment (Nairobi store → Kisumu [MR-2611, DIL-0907]
→ Kakamega [MR-2612] → Bungoma [MR-2613]): stages replayed with the stage machine, overrides
applied at their time, and each lot's loading and handover."""

from __future__ import annotations

from importlib import resources

import pytest

from logistream.registry import load_registry
from logistream.shipments.carriage import Override, Position, carriage, drop_stop, replay
from logistream.shipments.model import Shipment
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.stages import StageConfig

CONFIG = StageConfig(dwell_in_s=120.0, dwell_out_s=120.0)
NAIROBI = (-1.2864, 36.8172)
KISUMU = (-0.0917, 34.7680)
ROAD = (-0.8, 35.9)


@pytest.fixture(scope="module")
def shipment() -> Shipment:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    with resources.as_file(example) as path:
        return load_shipment_file(path, load_registry())


def _at(where: tuple[float, float], start: float, end: float) -> list[Position]:
    n = int((end - start) / 30.0) + 1
    return [
        Position(start + 30.0 * i, where[0], where[1], f"p{start + 30.0 * i:.0f}") for i in range(n)
    ]


TRACK = _at(NAIROBI, 1000.0, 2000.0) + _at(ROAD, 2100.0, 5000.0) + _at(KISUMU, 6000.0, 7000.0)


def test_each_lot_is_handed_over_where_a_stop_drops_it(shipment: Shipment) -> None:
    assert [drop_stop(shipment, n) for n in ("MR-2611", "DIL-0907", "MR-2612", "MR-2613")] == [
        1,
        1,
        2,
        3,
    ]
    assert drop_stop(shipment, "NOT-ON-ANY-STOP") == 3  # the destination


def test_loading_to_arrival_at_the_drop_else_now(shipment: Shipment) -> None:
    changes = replay(shipment, list(reversed(TRACK)), (), CONFIG)  # any order: sorted by time
    assert [(c.stage, c.stop, c.at) for c in changes] == [
        ("at_origin", 0, 1000.0),
        ("in_transit", 0, 2100.0),
        ("at_stop", 1, 6000.0),
    ]
    kisumu = carriage(shipment, "MR-2611", changes, now=9000.0)
    assert (kisumu.start, kisumu.end, kisumu.ended_by) == (1000.0, 6000.0, "arrival")
    kakamega = carriage(shipment, "MR-2612", changes, now=9000.0)
    assert (kakamega.start, kakamega.end, kakamega.ended_by) == (1000.0, 9000.0, "now")


def test_a_signed_pod_ends_the_carriage_first(shipment: Shipment) -> None:
    changes = replay(shipment, TRACK, (), CONFIG)
    lot = carriage(shipment, "MR-2611", changes, now=9000.0, pod_signed_at=6500.0)
    assert (lot.start, lot.end, lot.ended_by, lot.seconds) == (1000.0, 6500.0, "pod", 5500.0)
    early = carriage(shipment, "MR-2611", changes, now=9000.0, pod_signed_at=500.0)
    assert (early.start, early.end, early.seconds) == (1000.0, 1000.0, 0.0)


def test_an_override_applies_at_its_time(shipment: Shipment) -> None:
    # The dispatcher marks the shipment delivered while the truck is on the road.
    done = Override(at=3000.0, stage="delivered", stop=3, version=2, by="dispatch", reason="x")
    changes = replay(shipment, TRACK, [done], CONFIG)
    assert [(c.stage, c.at, c.cause) for c in changes] == [
        ("at_origin", 1000.0, "geofence"),
        ("in_transit", 2100.0, "geofence"),
        ("delivered", 3000.0, "override"),
    ]
    lot = carriage(shipment, "MR-2613", changes, now=9000.0)
    assert (lot.end, lot.ended_by) == (3000.0, "arrival")


def test_no_stage_reached_is_no_carriage(shipment: Shipment) -> None:
    lot = carriage(shipment, "MR-2611", replay(shipment, _at(ROAD, 0.0, 600.0)), now=900.0)
    assert (lot.start, lot.seconds) == (None, 0.0)
