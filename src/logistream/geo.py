"""Plain geometry on WGS84 points, shared by the simulator, the route rule and the audits."""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_KM = 6371.0088

LatLon = tuple[float, float]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, 0–360° clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def _segment_distance_km(p: LatLon, a: LatLon, b: LatLon) -> float:
    # Equirectangular projection around the segment: accurate to metres over Kenyan segments.
    ref = math.cos(math.radians((a[0] + b[0]) / 2))
    ax, ay = a[1] * ref, a[0]
    bx, by = b[1] * ref, b[0]
    px, py = p[1] * ref, p[0]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    qx, qy = ax + t * dx, ay + t * dy
    return math.hypot(px - qx, py - qy) * (math.pi / 180.0) * EARTH_RADIUS_KM


def distance_to_polyline_km(point: LatLon, polyline: Sequence[LatLon]) -> float:
    """Shortest distance in km from a point to a path of at least one point."""
    if len(polyline) == 1:
        return haversine_km(point[0], point[1], polyline[0][0], polyline[0][1])
    return min(
        _segment_distance_km(point, polyline[i], polyline[i + 1]) for i in range(len(polyline) - 1)
    )
