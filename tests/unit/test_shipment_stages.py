"""The stage machine on the example vaccine shipment: Nairobi store → Kisumu → Kakamega → Bungoma.

Positions are hand-placed: the centre of a stop's fence is inside it, a point 5 km north of every
fence is on the road between stops. Dwell: 120 s in, 120 s out.
"""

from __future__ import annotations

import random
from importlib import resources

import pytest

from logistream.registry import load_registry
from logistream.shipments import stages
from logistream.shipments.model import Shipment
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.stages import StageConfig, StageProgress, on_position

CONFIG = StageConfig(dwell_in_s=120.0, dwell_out_s=120.0)
NAIROBI = (-1.2864, 36.8172)
KISUMU = (-0.0917, 34.7680)
KAKAMEGA = (0.2827, 34.7519)
ROAD = (-0.8, 35.9)
"""Between Nairobi and Kisumu, inside no fence."""


@pytest.fixture(scope="module")
def shipment() -> Shipment:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    with resources.as_file(example) as path:
        return load_shipment_file(path, load_registry())


def bungoma(shipment: Shipment) -> tuple[float, float]:
    """The middle of the destination's polygon."""
    middle = shipment.stops[-1].geofence.shape.centroid
    return float(middle.y), float(middle.x)


def drive(
    progress: StageProgress,
    shipment: Shipment,
    track: list[tuple[tuple[float, float], float]],
) -> tuple[StageProgress, list[stages.StageChange]]:
    """Feed (position, event time) readings; the changes they caused, in order."""
    changes: list[stages.StageChange] = []
    for (lat, lon), ts in track:
        progress, made = on_position(progress, shipment, lat, lon, ts, CONFIG, f"r{ts:.0f}")
        changes.extend(made)
    return progress, changes


def every(
    position: tuple[float, float], start: float, end: float, step: float = 30.0
) -> list[tuple[tuple[float, float], float]]:
    return [(position, start + i * step) for i in range(int((end - start) / step) + 1)]


def test_a_truck_at_the_origin_for_the_dwell_is_at_origin_from_its_first_reading_there(
    shipment: Shipment,
) -> None:
    progress = stages.start(shipment)
    progress, changes = drive(progress, shipment, every(NAIROBI, 0, 90))
    assert changes == []
    assert progress.stage == "planned"
    progress, changes = drive(progress, shipment, every(NAIROBI, 120, 150))
    assert [(c.stage, c.stop, c.at, c.event_id) for c in changes] == [("at_origin", 0, 0.0, "r120")]
    assert progress.since == 0.0


def test_gps_jitter_across_a_fence_never_changes_the_stage(shipment: Shipment) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    # Up to three fixes in a row inside the origin's fence, then one outside: never 120 s inside.
    track = []
    ts = 0.0
    while ts < 3_600:
        for _ in range(rng.randint(1, 3)):
            track.append((NAIROBI, ts))
            ts += rng.uniform(5, 39)
        track.append((ROAD, ts))
        ts += rng.uniform(5, 60)
    progress, changes = drive(stages.start(shipment), shipment, track)
    assert changes == []
    assert progress.stage == "planned"
    # The same jitter round the gate of the stop it is at never makes it leave.
    at_origin = StageProgress(shipment_id=shipment.shipment_id, stage="at_origin", stop=0)
    flipped = [(ROAD if p == NAIROBI else NAIROBI, t) for p, t in track]
    progress, changes = drive(at_origin, shipment, flipped)
    assert changes == []
    assert progress.stage == "at_origin"


def test_a_whole_trip_passes_every_stage_in_order(shipment: Shipment) -> None:
    progress = stages.start(shipment)
    dest = bungoma(shipment)
    track = (
        every(NAIROBI, 0, 1_800)  # loading
        + every(ROAD, 1_830, 20_000)
        + every(KISUMU, 20_030, 21_800)
        + every(ROAD, 21_830, 25_000)
        + every(KAKAMEGA, 25_030, 26_000)
        + every(ROAD, 26_030, 28_000)
        + every(dest, 28_030, 30_000)
        + every(ROAD, 30_030, 31_000)
        + every(ROAD, 31_030, 40_000)
    )
    progress, changes = drive(progress, shipment, track)
    assert [(c.previous_stage, c.stage, c.stop, c.at) for c in changes] == [
        ("planned", "at_origin", 0, 0.0),
        ("at_origin", "in_transit", 0, 1_830.0),
        ("in_transit", "at_stop", 1, 20_030.0),
        ("at_stop", "in_transit", 1, 21_830.0),
        ("in_transit", "at_stop", 2, 25_030.0),
        ("at_stop", "in_transit", 2, 26_030.0),
        ("in_transit", "at_destination", 3, 28_030.0),
        ("at_destination", "delivered", 3, 30_030.0),
    ]
    assert progress.stage == "delivered"
    # Delivered is final: driving back into a fence changes nothing.
    progress, changes = drive(progress, shipment, every(KISUMU, 50_000, 51_000))
    assert changes == []


def test_driving_through_a_fence_without_stopping_is_not_an_arrival(shipment: Shipment) -> None:
    progress = stages.StageProgress(shipment_id=shipment.shipment_id, stage="in_transit", stop=0)
    track = every(ROAD, 0, 600) + every(KISUMU, 630, 720) + every(ROAD, 750, 1_500)
    progress, changes = drive(progress, shipment, track)
    assert changes == []
    assert progress.stage == "in_transit"
    assert progress.pending is None


def test_a_skipped_drop_goes_straight_to_the_next_stop_and_never_back(shipment: Shipment) -> None:
    progress = stages.StageProgress(shipment_id=shipment.shipment_id, stage="in_transit", stop=0)
    progress, changes = drive(progress, shipment, every(KAKAMEGA, 0, 300))
    assert [(c.stage, c.stop) for c in changes] == [("at_stop", 2)]
    progress, changes = drive(progress, shipment, every(ROAD, 330, 600) + every(KISUMU, 630, 1_200))
    assert [(c.stage, c.stop) for c in changes] == [("in_transit", 2)]
    assert progress.stage == "in_transit"  # Kisumu lies behind: no arrival there


def test_a_truck_that_turns_round_after_leaving_arrives_back_at_the_same_stop(
    shipment: Shipment,
) -> None:
    progress = stages.StageProgress(shipment_id=shipment.shipment_id, stage="in_transit", stop=1)
    progress, changes = drive(progress, shipment, every(KISUMU, 0, 300))
    assert [(c.previous_stage, c.stage, c.stop) for c in changes] == [("in_transit", "at_stop", 1)]


def test_a_reading_without_a_fix_keeps_the_dwell_running(shipment: Shipment) -> None:
    progress = stages.start(shipment)
    progress, _ = on_position(progress, shipment, *NAIROBI, 0.0, CONFIG)
    progress, _ = on_position(progress, shipment, None, None, 60.0, CONFIG)
    progress, changes = on_position(progress, shipment, *NAIROBI, 121.0, CONFIG)
    assert [(c.stage, c.at) for c in changes] == [("at_origin", 0.0)]


def test_an_override_sets_the_stage_once_per_version(shipment: Shipment) -> None:
    progress = stages.start(shipment)
    progress, changes = stages.overridden(progress, "at_stop", 1, 500.0, version=2)
    assert [(c.stage, c.stop, c.cause, c.previous_stage) for c in changes] == [
        ("at_stop", 1, "override", "planned")
    ]
    again, changes = stages.overridden(progress, "at_stop", 1, 900.0, version=2)
    assert changes == ()
    assert again == progress
    # Tracking goes on from the overridden stage: leaving Kisumu's fence is a departure.
    progress, changes = drive(progress, shipment, every(ROAD, 600, 900))
    assert [(c.stage, c.stop, c.at) for c in changes] == [("in_transit", 1, 600.0)]
