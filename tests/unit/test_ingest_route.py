"""Routes as drivable paths: positions stay on the route, zones slow the truck in time."""

from __future__ import annotations

import pytest
from tests.helpers import seeded_random

from logistream.geo import distance_to_polyline_km, haversine_km
from logistream.ingest.route import RoutePath
from logistream.registry import load_registry

REGISTRY = load_registry()


def test_the_issue_routes_exist_with_real_lengths() -> None:
    lengths = {n: RoutePath(r).length_km for n, r in REGISTRY.routes.items()}
    assert {
        "naivasha_mombasa",
        "nairobi_kisumu",
        "eldoret_nairobi",
        "nyeri_nairobi",
        "naivasha_jkia",
    } <= set(lengths)
    assert 450 < lengths["naivasha_mombasa"] < 600
    assert 250 < lengths["nairobi_kisumu"] < 400
    assert 80 < lengths["naivasha_jkia"] < 140
    for route in REGISTRY.routes.values():
        for w in route.waypoints:
            assert -5.0 < w.lat < 5.0, w  # Kenya
            assert 33.5 < w.lon < 42.0, w


@pytest.mark.parametrize("name", sorted(REGISTRY.routes))
def test_interpolated_positions_stay_on_the_route(name: str) -> None:
    rng = seeded_random(f"route {name}")
    path = RoutePath(REGISTRY.routes[name])
    for _ in range(300):
        km = rng.uniform(0, path.length_km)
        lat, lon, heading = path.position_at(km)
        assert distance_to_polyline_km((lat, lon), path.points) < 0.001
        assert 0.0 <= heading < 360.0
    assert path.position_at(-5)[:2] == path.points[0]
    assert path.position_at(path.length_km + 5)[:2] == path.points[-1]
    # Distance along the route matches the distance between consecutive positions.
    a, b = path.position_at(10.0), path.position_at(10.5)
    assert haversine_km(a[0], a[1], b[0], b[1]) == pytest.approx(0.5, rel=0.02)


def test_reversed_route_and_zones() -> None:
    route = REGISTRY.routes["naivasha_mombasa"]
    forward, back = RoutePath(route), RoutePath(route, reverse=True)
    assert back.length_km == pytest.approx(forward.length_km)
    assert back.position_at(0)[:2] == forward.position_at(forward.length_km)[:2]
    nairobi = forward.km_of("Nairobi")
    assert nairobi is not None
    assert forward.limit_kmh(nairobi) == 50.0
    assert forward.limit_kmh(nairobi + 10) == 80.0
    # The planned speed is already at the town limit where the zone starts, and lower before.
    zone = next(z for z in forward.zones if z.name == "Nairobi")
    assert forward.allowance_ms(zone.start_km) * 3.6 <= 50.0 + 1e-6
    assert forward.allowance_ms(zone.start_km - 0.2) * 3.6 < 80.0
