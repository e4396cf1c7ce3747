"""ETA maths, hand-computed on a straight road along the equator, then on a registry route.

On the equator a degree of longitude is ``KM_PER_DEG`` km of great circle, so a truck at a known
moving speed reaches a stop at a time worked out by hand.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from logistream.geo import EARTH_RADIUS_KM, haversine_km
from logistream.ingest.route import RoutePath
from logistream.registry import load_registry
from logistream.shipments import geofence
from logistream.shipments.eta import (
    Breach,
    EtaConfig,
    MovingSpeed,
    RouteLine,
    arrival_temperature,
    breach_sentence,
    etas,
    moving_kmh,
    update_speed,
)

KM_PER_DEG = math.radians(1.0) * EARTH_RADIUS_KM  # 111.195 km
ROAD = [(0.0, 36.0), (0.0, 36.5), (0.0, 37.0)]
"""A straight road of 111.195 km east along the equator."""
CONFIG = EtaConfig()
AT_80 = MovingSpeed(mean_kmh=80.0, weight=1.0)
"""A truck measured at 80 km/h, the default speed no longer weighing."""
SEED = 20261207


def test_a_straight_road_at_a_known_speed() -> None:
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 37.0)])
    assert line.length_km == pytest.approx(KM_PER_DEG, rel=1e-9)
    assert line.km_along(0.0, 36.5) == pytest.approx(KM_PER_DEG / 2, rel=1e-6)
    # Half way, at 80 km/h: 55.598 km in 2,501.9 s.
    (eta,) = etas(line, 0.0, 36.5, 1_000.0, AT_80, 1, CONFIG)
    assert eta.index == 1
    assert eta.km_left == pytest.approx(55.598, abs=1e-3)
    assert eta.eta == pytest.approx(1_000.0 + 55.598 / 80.0 * 3600.0, abs=0.1)
    # A GPS fix 100 m north of the road projects onto it.
    (eta,) = etas(line, 0.0009, 36.5, 1_000.0, AT_80, 1, CONFIG)
    assert eta.km_left == pytest.approx(55.598, abs=1e-3)


def test_the_dwell_of_a_drop_passed_on_the_way_is_added_not_that_of_the_stop_reached() -> None:
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 36.5), (0.0, 37.0)])
    first, last = etas(line, 0.0, 36.25, 0.0, AT_80, 1, CONFIG)
    quarter = KM_PER_DEG / 4
    assert (first.index, last.index) == (1, 2)
    assert first.km_left == pytest.approx(quarter, rel=1e-6)
    assert first.eta == pytest.approx(quarter / 80.0 * 3600.0, abs=0.1)  # 1,251 s
    assert last.km_left == pytest.approx(3 * quarter, rel=1e-6)
    assert last.eta == pytest.approx(3 * quarter / 80.0 * 3600.0 + 1800.0, abs=0.1)  # 5,553 s
    assert etas(line, 0.0, 36.25, 0.0, AT_80, 3, CONFIG) == ()
    # Still unloading at the drop for 10 min: both later ETAs move by those 10 min.
    (waiting,) = etas(line, 0.0, 36.5, 0.0, AT_80, 2, CONFIG, wait_s=600.0)
    assert waiting.eta == pytest.approx(600.0 + 2 * quarter / 80.0 * 3600.0, abs=0.1)


def test_a_route_halt_between_the_truck_and_the_stop_adds_its_dwell_until_the_truck_is_there() -> (
    None
):
    weighbridge = (0.0, 36.5, 600.0)
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 37.0)], halts=[weighbridge])
    half_h = KM_PER_DEG / 2 / 80.0 * 3600.0
    (before,) = etas(line, 0.0, 36.0, 0.0, AT_80, 1, CONFIG)
    assert before.eta == pytest.approx(2 * half_h + 600.0, abs=0.1)
    (at_it,) = etas(line, 0.0, 36.5, 0.0, AT_80, 1, CONFIG)  # parked at the weighbridge
    assert at_it.eta == pytest.approx(half_h, abs=0.1)


def test_the_moving_speed_ignores_stopped_time() -> None:
    config = EtaConfig(default_kmh=40.0, halflife_s=900.0)
    state = MovingSpeed()
    t = 0.0
    for _ in range(181):  # 30 minutes at 60 km/h, a reading every 10 s: 1,800 s of driving
        state = update_speed(state, t, 60.0, config)
        t += 10.0
    weight = 1.0 - 0.5 ** (1800.0 / 900.0)  # 0.75: the prior of 40 km/h still weighs a quarter
    assert state.weight == pytest.approx(weight, rel=1e-9)
    assert moving_kmh(state, config) == pytest.approx(60.0 * weight + 40.0 * (1 - weight))
    driving = state
    for _ in range(360):  # an hour at a weighbridge queue: 0 to 4 km/h, not driving speed
        state = update_speed(state, t, 3.0, config)
        t += 10.0
    assert moving_kmh(state, config) == moving_kmh(driving, config)
    # The first reading after the stop weighs 10 s of driving, not the hour stopped.
    after = update_speed(state, t, 90.0, config)
    alpha = 1.0 - 0.5 ** (10.0 / 900.0)
    assert after.mean_kmh == pytest.approx(driving.mean_kmh + alpha * (90.0 - driving.mean_kmh))
    # A late reading (older than the newest) changes nothing.
    assert update_speed(after, t - 100.0, 10.0, config) is after


def test_before_any_moving_speed_the_default_is_used() -> None:
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 37.0)])
    (eta,) = etas(line, 0.0, 36.0, 0.0, MovingSpeed(), 1, CONFIG)
    assert moving_kmh(MovingSpeed(), CONFIG) == 60.0
    assert eta.eta == pytest.approx(KM_PER_DEG / 60.0 * 3600.0, abs=0.1)  # 6,671.7 s


def test_a_stop_behind_the_truck_is_reached_by_turning_back() -> None:
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 36.5), (0.0, 37.0)])
    drop, destination = etas(line, 0.0, 36.6, 0.0, AT_80, 1, CONFIG)
    assert drop.km_left == pytest.approx(0.1 * KM_PER_DEG, rel=1e-6)  # 11.1 km back
    # then on from the drop to the destination: 11.1 + 55.6 km
    assert destination.km_left == pytest.approx(0.6 * KM_PER_DEG, rel=1e-6)


def test_an_off_route_stop_is_reached_by_the_route_then_the_straight_line_times_the_factor() -> (
    None
):
    near_end = (0.1, 37.0)  # 11.1 km north of the road's end
    farther = (0.2, 37.0)  # 11.1 km further north
    line = RouteLine.of(ROAD, [(0.0, 36.0), near_end, farther])
    offset = 0.1 * KM_PER_DEG
    # Origin -> near_end: by the road (111.2 km), then 1.3 x 11.1 km, shorter than 1.3 x the
    # straight 111.8 km.
    assert line.stop_km(1) == pytest.approx(KM_PER_DEG + 1.3 * offset, rel=1e-6)
    # near_end -> farther: both off the road, 1.3 x the straight 11.1 km.
    assert line.stop_km(2) - line.stop_km(1) == pytest.approx(1.3 * offset, rel=1e-6)
    # A stop 3 km off the road is on it (the polyline is a simplification of the road).
    near = RouteLine.of(ROAD, [(0.0, 36.0), (0.027, 36.5)])
    assert near.stop_km(1) == pytest.approx(KM_PER_DEG / 2, rel=1e-6)


def test_a_truck_off_the_route_reaches_it_at_the_road_factor() -> None:
    line = RouteLine.of(ROAD, [(0.0, 36.0), (0.0, 37.0)])
    truck = (0.1, 36.5)  # 11.1 km north of the road's middle
    (eta,) = etas(line, *truck, 0.0, AT_80, 1, CONFIG)
    via_road = 1.3 * 0.1 * KM_PER_DEG + 0.5 * KM_PER_DEG  # 70.1 km
    straight = 1.3 * haversine_km(*truck, 0.0, 37.0)  # 73.7 km
    assert via_road < straight
    assert eta.km_left == pytest.approx(via_road, rel=1e-6)


def test_stops_running_the_route_backwards_orient_the_line_their_way() -> None:
    line = RouteLine.of(ROAD, [(0.0, 37.0), (0.0, 36.0)])
    assert line.km_along(0.0, 37.0) == pytest.approx(0.0, abs=1e-9)
    assert line.km_along(0.0, 36.25) == pytest.approx(0.75 * KM_PER_DEG, rel=1e-6)
    (eta,) = etas(line, 0.0, 36.75, 0.0, AT_80, 1, CONFIG)
    assert eta.km_left == pytest.approx(0.75 * KM_PER_DEG, rel=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_km_along_a_registry_route_matches_the_simulators_km_both_ways(reverse: bool) -> None:
    route = load_registry().routes["nairobi_kisumu"]
    path = RoutePath(route, reverse=reverse)
    points = [(w.lat, w.lon) for w in route.waypoints]  # always the registry's order
    line = RouteLine.of(points, [path.points[0], path.points[-1]])
    assert line.length_km == pytest.approx(path.length_km, rel=1e-9)
    for km in (0.0, 37.5, 150.0, 222.2, path.length_km):
        lat, lon, _ = path.position_at(km)
        assert line.km_along(lat, lon) == pytest.approx(km, abs=0.01)


def test_the_example_shipments_depots_beyond_kisumu_are_placed_off_the_route() -> None:
    registry = load_registry()
    route = [(w.lat, w.lon) for w in registry.routes["nairobi_kisumu"].waypoints]
    kisumu, kakamega = (-0.0917, 34.7680), (0.2827, 34.7519)
    bungoma_yard = geofence.polygon(
        [(0.5655, 34.5586), (0.5655, 34.5626), (0.5615, 34.5626), (0.5615, 34.5586)]
    )
    assert bungoma_yard.centre == pytest.approx((0.5635, 34.5606))
    assert geofence.circle(*kisumu, 500).centre == kisumu
    line = RouteLine.of(route, [(-1.2864, 36.8172), kisumu, kakamega, bungoma_yard.centre])
    kisumu_km = line.stop_km(1)
    assert kisumu_km == pytest.approx(line.length_km, abs=0.01)
    assert line.stop_km(2) - kisumu_km == pytest.approx(1.3 * haversine_km(*kisumu, *kakamega))
    assert line.stop_km(3) - line.stop_km(2) == pytest.approx(
        1.3 * haversine_km(*kakamega, *bungoma_yard.centre)
    )


def test_a_breach_before_arrival_is_predicted_with_the_temperature_at_arrival() -> None:
    # 6.0 °C rising 3 °C/h: 8.0 °C after 40 min; the ETA is 80 min away.
    slope = 3.0 / 3600.0
    breach = arrival_temperature(6.0, slope, 8.0, 0.0, 4_800.0)
    assert breach == Breach(
        at=pytest.approx(2_400.0),  # type: ignore[arg-type]
        before_arrival_s=pytest.approx(2_400.0),  # type: ignore[arg-type]
        arrival_c=pytest.approx(10.0),  # type: ignore[arg-type]
        limit_c=8.0,
    )
    assert (
        breach_sentence(breach, "vaccines", "Kisumu regional vaccine depot")
        == "at this rate the vaccines reach 8.0 °C 40 min before Kisumu regional vaccine depot"
    )
    # Falling towards the low limit works the same way.
    cold = arrival_temperature(3.0, -1.0 / 3600.0, 2.0, 0.0, 7_200.0)
    assert cold is not None
    assert cold.at == pytest.approx(3_600.0)
    assert breach_sentence(cold, "frozen", "Mombasa") == (
        "at this rate the frozen goods reach 2.0 °C 1 h before Mombasa"
    )


def test_no_breach_after_arrival_flat_or_already_out() -> None:
    slope = 3.0 / 3600.0
    assert arrival_temperature(6.0, slope, 8.0, 0.0, 2_000.0) is None  # arrives 400 s before
    assert arrival_temperature(6.0, 0.0, 8.0, 0.0, 99_999.0) is None  # flat
    assert arrival_temperature(6.0, -slope, 8.0, 0.0, 99_999.0) is None  # moving away
    assert arrival_temperature(9.0, slope, 8.0, 0.0, 99_999.0) is None  # already out


_lat = st.floats(-1.0, 1.0)
_lon = st.floats(35.0, 37.0)
_point = st.tuples(_lat, _lon)


@hypothesis_seed(SEED)
@settings(max_examples=300, deadline=None)
@given(
    route=st.lists(_point, min_size=2, max_size=8, unique=True),
    stops=st.lists(_point, min_size=2, max_size=6),
    truck=_point,
    next_stop=st.integers(0, 5),
    kmh=st.floats(5.0, 110.0),
    weight=st.floats(0.0, 1.0),
)
def test_later_stops_never_have_earlier_etas(
    route: list[tuple[float, float]],
    stops: list[tuple[float, float]],
    truck: tuple[float, float],
    next_stop: int,
    kmh: float,
    weight: float,
) -> None:
    print(f"hypothesis seed={SEED}")
    line = RouteLine.of(route, stops, halts=[(*route[len(route) // 2], 900.0)])
    speed = MovingSpeed(mean_kmh=kmh * weight, weight=weight)
    found = etas(line, *truck, 1_000.0, speed, next_stop, CONFIG)
    assert len(found) == max(0, len(stops) - next_stop)
    for before, after in itertools.pairwise(found):
        assert after.eta >= before.eta
        assert after.km_left >= before.km_left
    assert all(e.eta >= 1_000.0 and e.km_left >= 0.0 for e in found)
