"""Geofences on real places: a circle round the Kisumu depot, a polygon round Bungoma's yard."""

from __future__ import annotations

import pytest

from logistream.shipments import geofence
from logistream.shipments.errors import ShipmentError

KISUMU_DEPOT = (-0.0917, 34.7680)
METRES_PER_DEG_LAT = 111_195.0
"""Metres in one degree of latitude on the mean Earth sphere."""


def test_a_point_in_the_kisumu_depots_circle_is_inside_and_one_2_km_away_is_outside() -> None:
    fence = geofence.circle(*KISUMU_DEPOT, radius_m=500)
    lat, lon = KISUMU_DEPOT
    assert fence.contains(lat, lon)
    assert fence.contains(lat + 200 / METRES_PER_DEG_LAT, lon)  # 200 m north: at the gate
    assert not fence.contains(lat + 2_000 / METRES_PER_DEG_LAT, lon)  # 2 km north, in town
    assert not fence.contains(lat, lon - 2_000 / METRES_PER_DEG_LAT)  # 2 km west, in the lake


def test_the_circles_radius_is_honest_in_metres_to_within_half_a_percent() -> None:
    # Near the equator a degree of longitude is as long as one of latitude (cos 0.09° ≈ 1).
    fence = geofence.circle(*KISUMU_DEPOT, radius_m=500)
    lat, lon = KISUMU_DEPOT
    for metres_east, inside in ((497.0, True), (503.0, False)):
        assert fence.contains(lat, lon + metres_east / METRES_PER_DEG_LAT) is inside
    for metres_north, inside in ((497.0, True), (503.0, False)):
        assert fence.contains(lat + metres_north / METRES_PER_DEG_LAT, lon) is inside


def test_a_circle_far_from_the_equator_keeps_its_radius_east_west() -> None:
    # At 60° N a degree of longitude is half as long: 1 km east is 2 / 111.195 degrees.
    fence = geofence.circle(60.0, 10.0, radius_m=1_000)
    assert fence.contains(60.0, 10.0 + 1.9 * 1_000 / METRES_PER_DEG_LAT)
    assert not fence.contains(60.0, 10.0 + 2.1 * 1_000 / METRES_PER_DEG_LAT)


def test_a_polygon_round_bungomas_yard_contains_its_middle_not_the_town_centre() -> None:
    yard = geofence.polygon(
        [(0.5655, 34.5586), (0.5655, 34.5626), (0.5615, 34.5626), (0.5615, 34.5586)]
    )
    assert yard.contains(0.5635, 34.5606)
    assert not yard.contains(0.5700, 34.5606)  # 500 m north of the yard


def test_overlaps_between_circles_and_polygons() -> None:
    kisumu = geofence.circle(*KISUMU_DEPOT, radius_m=500)
    near = geofence.circle(KISUMU_DEPOT[0] + 800 / METRES_PER_DEG_LAT, KISUMU_DEPOT[1], 400)
    far = geofence.circle(KISUMU_DEPOT[0] + 2_000 / METRES_PER_DEG_LAT, KISUMU_DEPOT[1], 400)
    square = geofence.polygon(
        [(-0.0900, 34.7670), (-0.0900, 34.7700), (-0.0880, 34.7700), (-0.0880, 34.7670)]
    )
    assert kisumu.overlaps(near)
    assert near.overlaps(kisumu)
    assert not kisumu.overlaps(far)
    assert kisumu.overlaps(square)  # the square's south edge is 190 m north of the centre
    assert not far.overlaps(square)
    assert not square.overlaps(far)


@pytest.mark.parametrize(
    ("corners", "words"),
    [
        ([(0.0, 34.0), (0.0, 34.01)], "at least 3 distinct corners"),
        ([(0.0, 34.0), (0.01, 34.01), (0.0, 34.01), (0.01, 34.0)], "Self-intersection"),
        ([(0.0, 34.0), (0.0, 34.01), (0.0, 34.02)], "invalid polygon"),
        ([(95.0, 34.0), (0.0, 34.01), (0.01, 34.0)], "latitude 95.0"),
    ],
)
def test_invalid_polygons_are_refused_naming_the_field(
    corners: list[tuple[float, float]], words: str
) -> None:
    with pytest.raises(ShipmentError, match=words) as refused:
        geofence.polygon(corners)
    assert refused.value.field.startswith("points")
    assert "\n" not in str(refused.value)


def test_a_circle_without_a_usable_radius_is_refused() -> None:
    for radius in (0.0, -5.0, 60_000.0, float("nan")):
        with pytest.raises(ShipmentError) as refused:
            geofence.circle(*KISUMU_DEPOT, radius_m=radius)
        assert refused.value.field == "radius_m"
