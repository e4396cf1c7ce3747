"""A stop's geofence: a circle (centre and radius in metres) or a polygon of lat/lon corners.

Both are held as one shapely polygon in lon/lat degrees, so any two fences can be compared
directly. A circle is buffered in metres in a local equirectangular projection centred on it
(east = R·Δlon·cos(lat0), north = R·Δlat, R the mean Earth radius) and turned back into degrees:
for fences of a few kilometres away from the poles this is within a fraction of a metre of the
true geodesic circle (64 segments, so the chord error is about 0.1 % of the radius). No geometry
is written by hand beyond that projection; containment and overlap are shapely's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely
from shapely.geometry import Point, Polygon

from logistream.shipments.errors import ShipmentError

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), for the local projection of a circle."""

CIRCLE_QUAD_SEGMENTS = 16
"""Segments per quarter circle of a buffered circle (64 in all)."""

MAX_RADIUS_M = 50_000.0
"""A larger circle would make the local projection's error matter; no depot needs one."""


def _check_lat_lon(lat: float, lon: float, where: str) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ShipmentError(where, f"latitude {lat} is not between -90 and 90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ShipmentError(where, f"longitude {lon} is not between -180 and 180")


@dataclass(frozen=True, slots=True)
class Geofence:
    """A circle (``points`` is its centre alone) or a polygon (``points`` its corners), lat/lon."""

    kind: Literal["circle", "polygon"]
    points: tuple[tuple[float, float], ...]
    radius_m: float | None
    shape: Any = field(compare=False, repr=False)
    """The shapely polygon, in (lon, lat) degrees."""

    @property
    def centre(self) -> tuple[float, float]:
        """The fence's point as (lat, lon): a circle's centre, a polygon's centroid (shapely's,
        in degrees: for a yard or a depot of a few hundred metres that is the middle on the
        ground too)."""
        if self.kind == "circle":
            return self.points[0]
        middle = self.shape.centroid
        return float(middle.y), float(middle.x)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point is inside the fence or on its edge."""
        return bool(self.shape.covers(Point(lon, lat)))

    def overlaps(self, other: Geofence) -> bool:
        """Whether the two fences share any ground (touching edges included)."""
        return bool(self.shape.intersects(other.shape))


def circle(lat: float, lon: float, radius_m: float) -> Geofence:
    """A circle of ``radius_m`` metres around (lat, lon); refused outside (0, 50 km]."""
    _check_lat_lon(lat, lon, "centre")
    if not (math.isfinite(radius_m) and 0.0 < radius_m <= MAX_RADIUS_M):
        raise ShipmentError(
            "radius_m", f"{radius_m} is not a radius in metres; give one above 0 and at most 50000"
        )
    metres_per_deg_lat = math.radians(1.0) * EARTH_RADIUS_M
    metres_per_deg_lon = metres_per_deg_lat * math.cos(math.radians(lat))

    local = Point(0.0, 0.0).buffer(radius_m, quad_segs=CIRCLE_QUAD_SEGMENTS)
    # (east, north) metres -> (lon, lat) degrees, every vertex at once.
    shape = shapely.transform(
        local, lambda xy: xy / (metres_per_deg_lon, metres_per_deg_lat) + (lon, lat)
    )
    return Geofence("circle", ((lat, lon),), float(radius_m), shape)


def polygon(points: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> Geofence:
    """A polygon of at least 3 distinct (lat, lon) corners in order round its edge, not crossing
    itself; the ring is closed for you."""
    corners = tuple((float(lat), float(lon)) for lat, lon in points)
    for index, (lat, lon) in enumerate(corners):
        _check_lat_lon(lat, lon, f"points[{index}]")
    if len(set(corners)) < 3:
        raise ShipmentError(
            "points", f"a polygon needs at least 3 distinct corners, got {len(set(corners))}"
        )
    shape = Polygon([(lon, lat) for lat, lon in corners])
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        raise ShipmentError(
            "points",
            f"invalid polygon ({reason}); list the corners in order round the edge, "
            "without the edge crossing itself",
        )
    if shape.area == 0.0:
        raise ShipmentError("points", "the corners lie on one line; give a polygon with an area")
    return Geofence("polygon", corners, None, shape)
