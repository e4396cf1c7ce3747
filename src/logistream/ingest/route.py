"""A route as a drivable path: position by distance, speed limits and planned stops.

Built once per route and direction (a return trip drives the waypoints reversed), then shared by
every truck on it; the per-step lookups are a bisect and a few multiplications.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import Final

from logistream.geo import bearing_deg, haversine_km
from logistream.ingest import physics
from logistream.registry.models import Route, Waypoint

GRID_M: Final = 50.0
"""Resolution of the speed-allowance table."""
ZONE_RADIUS_KM: Final[dict[str, float]] = {"town": 2.0, "depot": 2.0, "airport": 2.0, "farm": 1.0}
"""Waypoint kinds that are built-up areas (50 km/h), and how far either side the zone reaches."""


@dataclass(frozen=True, slots=True)
class Stop:
    km: float
    dwell_s: float
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Zone:
    start_km: float
    end_km: float
    name: str


class RoutePath:
    """A route's polyline with cumulative distances, 50 km/h zones and planned stops."""

    __slots__ = (
        "_cum",
        "_headings",
        "_lats",
        "_lons",
        "allow_ms",
        "length_km",
        "mean_ambient",
        "name",
        "points",
        "stops",
        "waypoints",
        "zones",
    )

    def __init__(self, route: Route, *, reverse: bool = False) -> None:
        waypoints = tuple(reversed(route.waypoints)) if reverse else route.waypoints
        self.name = route.name
        self.waypoints: tuple[Waypoint, ...] = waypoints
        self.points = tuple((w.lat, w.lon) for w in waypoints)
        self._lats = [w.lat for w in waypoints]
        self._lons = [w.lon for w in waypoints]
        cum = [0.0]
        headings = []
        for a, b in itertools.pairwise(waypoints):
            cum.append(cum[-1] + haversine_km(a.lat, a.lon, b.lat, b.lon))
            headings.append(bearing_deg(a.lat, a.lon, b.lat, b.lon))
        self._cum = cum
        self._headings = headings
        self.length_km = cum[-1]
        self.zones = tuple(
            Zone(
                max(0.0, cum[i] - ZONE_RADIUS_KM[w.kind]),
                min(self.length_km, cum[i] + ZONE_RADIUS_KM[w.kind]),
                w.name,
            )
            for i, w in enumerate(waypoints)
            if w.kind in ZONE_RADIUS_KM
        )
        self.stops = tuple(
            Stop(cum[i], w.stop_min * 60.0, w.name, w.kind)
            for i, w in enumerate(waypoints)
            if 0 < i < len(waypoints) - 1 and w.stop_min > 0
        )
        self.allow_ms = self._allowance()
        self.mean_ambient = [
            physics.mean_ambient_c(*self.position_at(float(km))[:2])
            for km in range(int(self.length_km) + 2)
        ]

    def _allowance(self) -> list[float]:
        """Highest planned speed at each grid point: limits, and braking early for each zone."""
        n = int(self.length_km * 1000.0 / GRID_M) + 2
        limit = [physics.HIGHWAY_LIMIT_KMH * physics.KMH] * n
        town = physics.TOWN_LIMIT_KMH * physics.KMH
        for zone in self.zones:
            first = int(zone.start_km * 1000.0 / GRID_M)
            last = min(n - 1, math.ceil(zone.end_km * 1000.0 / GRID_M))
            for i in range(first, last + 1):
                limit[i] = town
        allow = limit[:]
        for i in range(n - 2, -1, -1):
            reach = math.sqrt(allow[i + 1] ** 2 + 2.0 * physics.PLAN_BRAKE_MS2 * GRID_M)
            allow[i] = min(limit[i], reach)
        return allow

    def limit_kmh(self, km: float) -> float:
        """The legal limit at a distance along the route."""
        for zone in self.zones:
            if zone.start_km <= km <= zone.end_km:
                return physics.TOWN_LIMIT_KMH
        return physics.HIGHWAY_LIMIT_KMH

    def allowance_ms(self, km: float) -> float:
        """Planned speed at ``km``: the limit there, or lower when a zone is just ahead.

        Interpolated between grid points (below the braking curve, so on the safe side).
        """
        x = km * (1000.0 / GRID_M)
        i = int(x)
        allow = self.allow_ms
        if i + 1 >= len(allow):
            return allow[-1]
        a = allow[i]
        return a + (allow[i + 1] - a) * (x - i)

    def position_at(self, km: float) -> tuple[float, float, float]:
        """Latitude, longitude and heading at a distance along the route (clamped to its ends)."""
        cum = self._cum
        if km <= 0.0:
            return self._lats[0], self._lons[0], self._headings[0]
        if km >= self.length_km:
            return self._lats[-1], self._lons[-1], self._headings[-1]
        i = bisect.bisect_right(cum, km) - 1
        span = cum[i + 1] - cum[i]
        f = (km - cum[i]) / span if span > 0 else 0.0
        lats, lons = self._lats, self._lons
        return (
            lats[i] + (lats[i + 1] - lats[i]) * f,
            lons[i] + (lons[i + 1] - lons[i]) * f,
            self._headings[i],
        )

    def km_of(self, waypoint: str) -> float | None:
        """Distance along the route of the first waypoint with this name."""
        for i, w in enumerate(self.waypoints):
            if w.name == waypoint:
                return self._cum[i]
        return None

    def mean_ambient_at(self, km: float) -> float:
        table = self.mean_ambient
        i = int(km)
        return table[i] if i < len(table) else table[-1]
