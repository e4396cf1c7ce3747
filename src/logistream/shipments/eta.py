"""ETA per remaining stop, and the cargo temperature predicted at arrival: pure maths.

**Distance.** A shipment's stops are placed on its route's polyline (the registry's waypoints)
once, in :class:`RouteLine`: each stop's point (a circle's centre, a polygon's centroid) is
projected on the line with shapely (``LineString.project``) in a local metric projection
(equirectangular about the route's middle, as ``geofence.py`` does for circles), and the
projected distance is rescaled vertex by vertex to the great-circle length of each segment, so
"km along the line" is the distance the simulator's ``RoutePath`` (and a driver) counts.

- *Direction*: the line is oriented along the stops (their first stop nearer its start than their
  last), so a shipment on a truck driving its route back (the simulator runs every other trip
  reversed) counts km from the route's far end. Only the sign of ``km_along`` depends on it:
  every distance below is an absolute difference along the line.
- *On or off the line*: a point (a stop or the truck) within ``EtaConfig.off_route_km`` (5 km)
  of the polyline is on the route; the polyline joins waypoints straight, so a real road strays
  from it by a few km. Off-route points reach the line by road at ``EtaConfig.road_factor``
  (1.3) times the straight distance: road distance over great-circle distance is commonly 1.2 to
  1.4, and 1.3 is the Kisumu-Kakamega road (about 52 km by road for 42 km in a straight line).
- *A leg* (truck to stop, stop to stop) between two on-route points is the distance along the
  line between their projections. A leg with an off-route end is the shorter of the straight
  distance times the road factor, and the way by the route: reach the line where it is nearest
  (road factor times the offset), drive along it, leave it again. The example shipment's
  Kakamega and Bungoma depots lie beyond the route's end at Kisumu: Kisumu to Kakamega is the
  offset, Kakamega to Bungoma the straight distance times 1.3.
- *A stop behind the truck* (the truck has passed the stop's point on the line, and the stage
  machine has not seen it arrive) is reached by turning round: the distance back along the line.
  The ETA then grows while the truck drives away, which is the truth (and the lateness alert
  should fire). A truck within the stop's fence is at distance ~0 either way. The same rule
  makes a round trip (back to the origin) work: its return legs run the line backwards.
- *The truck off the route* (a detour, a depot yard off the highway): its leg to the next stop
  is measured as for an off-route stop; the later legs are unchanged.

**Time.** The remaining distance divided by the truck's recent *moving* speed
(:class:`MovingSpeed`: a time-weighted EWMA of readings above ``moving_kmh``, 5 km/h; time
stopped at a light, a stop or a weighbridge is not driving speed), plus ``stop_dwell_s`` at each
shipment stop passed on the way, plus the planned dwell of the route's own halts
(weighbridges, rest stops: ``halts``) lying along the line between the truck and the stop.
Before any moving speed is known the average starts from ``default_kmh`` (60 km/h: a loaded
truck on Kenyan trunk roads, 80 km/h limit on the highway, 50 in towns) and moves to the
measured speed as driving time accumulates (after one half-life the prior weighs half).

**Arrival temperature.** :func:`arrival_temperature` extends the trend rule's straight line
(temperature and slope now) to the stop's ETA: when it crosses the limit before arrival, the
crossing time, how long before arrival, and the temperature predicted at arrival.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np
import shapely
from shapely.geometry import LineString, Point

from logistream.geo import EARTH_RADIUS_KM, haversine_km

LatLon = tuple[float, float]

HALT_PASSED_KM = 0.5
"""A route halt this close to the truck (behind or ahead) is the one it is at or has passed: its
dwell is no longer ahead."""


@dataclass(frozen=True, slots=True)
class EtaConfig:
    moving_kmh: float = 5.0
    """A reading at or above this speed is driving; below it the truck is stopped."""
    halflife_s: float = 1800.0
    """Half-life of the moving-speed average, in seconds of driving (readings an hour of driving
    old weigh a quarter). bench/bench_eta_error.py on the simulator's routes, half-lives of 15,
    20, 30 and 60 min: median error 2.7, 2.5, 2.3, 2.3 min, p90 11.6, 11.0, 10.3, 11.0 min."""
    default_kmh: float = 60.0
    """The moving speed assumed before any is measured."""
    stop_dwell_s: float = 1800.0
    """Planned time at each shipment stop passed on the way (unloading a drop)."""
    off_route_km: float = 5.0
    """A point farther than this from the route's polyline is off the route."""
    road_factor: float = 1.3
    """Road distance over straight-line distance, for legs off the route."""
    max_step_s: float = 300.0
    """A gap between readings counts as at most this much driving (a truck out of coverage)."""


class MovingSpeed(msgspec.Struct, frozen=True, kw_only=True):
    """The truck's recent moving speed: an EWMA started at zero with its weight, so the estimate
    is ``mean_kmh + (1 - weight) * default_kmh`` (:func:`moving_kmh`): the prior fades as driving
    time accumulates, and the state does not depend on the configured default."""

    mean_kmh: float = 0.0
    weight: float = 0.0
    """1 - 2^(-driving seconds / half-life): how much of the estimate is measured."""
    last_ts: float | None = None
    """Event time of the newest reading, moving or not."""


def update_speed(state: MovingSpeed, ts: float, speed_kmh: float, config: EtaConfig) -> MovingSpeed:
    """The state after a reading at ``ts`` with ``speed_kmh``.

    Only the time between a reading and the one before it, when this reading is moving, counts
    as driving: a stop's time is skipped, not averaged in as 0 km/h and not as a long step that
    lets the first reading after it outweigh the rest. An older reading than the newest (late,
    out of order) changes nothing.
    """
    last = state.last_ts
    if last is not None and ts <= last:
        return state
    if not math.isfinite(speed_kmh) or speed_kmh < config.moving_kmh or last is None:
        return MovingSpeed(mean_kmh=state.mean_kmh, weight=state.weight, last_ts=ts)
    step = min(ts - last, config.max_step_s)
    alpha = 1.0 - 0.5 ** (step / config.halflife_s)
    return MovingSpeed(
        mean_kmh=state.mean_kmh + alpha * (speed_kmh - state.mean_kmh),
        weight=state.weight + alpha * (1.0 - state.weight),
        last_ts=ts,
    )


def moving_kmh(state: MovingSpeed, config: EtaConfig) -> float:
    """The moving speed to plan with: measured, with the default filling the unmeasured part."""
    return state.mean_kmh + (1.0 - state.weight) * config.default_kmh


@dataclass(frozen=True, slots=True)
class _Place:
    km: float
    """Distance along the line of the point's projection."""
    offset_km: float
    """Distance from the line."""
    point: LatLon


class RouteLine:
    """A route's polyline oriented along a shipment's stops, with the stops placed on it.

    Immutable once built: build it once per (route, shipment) and share it.
    """

    __slots__ = (
        "_config",
        "_cum_km",
        "_halts",
        "_kx",
        "_lat0",
        "_line",
        "_lon0",
        "_proj_cum",
        "_stop_halt_s",
        "_stop_km",
        "_stops",
        "length_km",
    )
    _config: EtaConfig
    _lat0: float
    _lon0: float
    _kx: float
    _line: LineString
    _proj_cum: np.ndarray[tuple[int], np.dtype[np.float64]]
    _cum_km: np.ndarray[tuple[int], np.dtype[np.float64]]
    length_km: float
    """The route's great-circle length along its waypoints."""
    _stops: tuple[_Place, ...]
    _stop_km: tuple[float, ...]
    _stop_halt_s: tuple[float, ...]
    _halts: tuple[tuple[float, float], ...]
    """(km along the line, dwell s) of the route's halts on the line, by km."""

    def __init__(self) -> None:
        raise TypeError("build a RouteLine with RouteLine.of(route, stops)")

    @classmethod
    def of(
        cls,
        route: Sequence[LatLon],
        stops: Sequence[LatLon],
        *,
        halts: Sequence[tuple[float, float, float]] = (),
        config: EtaConfig | None = None,
    ) -> RouteLine:
        """The line through ``route`` (lat, lon, at least 2 distinct points) and the ``stops``'
        points, in shipment order. ``halts``: the route's planned halts off the shipment
        (lat, lon, dwell seconds: the registry's waypoints with ``stop_min``), whose dwell is
        added when they lie between the truck and a stop. ``config``: the off-route distance and
        road factor used to place the stops (the defaults otherwise)."""
        config = config or EtaConfig()
        points = [(float(lat), float(lon)) for lat, lon in route]
        if len({*points}) < 2:
            raise ValueError("a route line needs at least 2 distinct points")
        self = object.__new__(cls)
        self._config = config
        self._lat0 = sum(p[0] for p in points) / len(points)
        self._lon0 = sum(p[1] for p in points) / len(points)
        self._kx = math.cos(math.radians(self._lat0))
        self._set_line(points)
        placed = [self._place(lat, lon) for lat, lon in stops]
        if len(placed) >= 2 and placed[-1].km < placed[0].km:
            # The stops run the route backwards (a return trip): orient the line their way.
            self._set_line(points[::-1])
            placed = [self._place(lat, lon) for lat, lon in stops]
        self._halts = tuple(
            sorted(
                (place.km, float(dwell_s))
                for lat, lon, dwell_s in halts
                if (place := self._place(lat, lon)).offset_km <= config.off_route_km
            )
        )
        self._stops = tuple(placed)
        stop_km = [placed[0].km] if placed else []
        stop_halt_s = [0.0] if placed else []
        for a, b in itertools.pairwise(placed):
            km, halt_s = self._leg(a, b)
            stop_km.append(stop_km[-1] + km)
            stop_halt_s.append(stop_halt_s[-1] + halt_s)
        self._stop_km = tuple(stop_km)
        self._stop_halt_s = tuple(stop_halt_s)
        return self

    # --- geometry --------------------------------------------------------------------------------

    def _xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Local (east, north) km about the route's middle."""
        k = math.radians(1.0) * EARTH_RADIUS_KM
        return (lon - self._lon0) * k * self._kx, (lat - self._lat0) * k

    def _set_line(self, points: list[LatLon]) -> None:
        self._line = LineString([self._xy(lat, lon) for lat, lon in points])
        proj = [0.0]
        cum = [0.0]
        for a, b in itertools.pairwise(points):
            xa, ya = self._xy(*a)
            xb, yb = self._xy(*b)
            proj.append(proj[-1] + math.hypot(xb - xa, yb - ya))
            cum.append(cum[-1] + haversine_km(a[0], a[1], b[0], b[1]))
        self._proj_cum = np.array(proj)
        self._cum_km = np.array(cum)
        self.length_km = float(cum[-1])

    def _place(self, lat: float, lon: float) -> _Place:
        where = Point(self._xy(lat, lon))
        along = float(self._line.project(where))
        # Projected km -> great-circle km, piecewise linear between the vertices.
        km = float(np.interp(along, self._proj_cum, self._cum_km))
        return _Place(km, float(shapely.distance(self._line, where)), (lat, lon))

    def km_along(self, lat: float, lon: float) -> float:
        """Distance along the line (from its start, in the direction of the stops) of the
        point's projection."""
        return self._place(lat, lon).km

    def offset_km(self, lat: float, lon: float) -> float:
        """Distance from the point to the line."""
        return self._place(lat, lon).offset_km

    def stop_km(self, index: int) -> float:
        """Distance of stop ``index`` along the trip: the first stop's km along the line, then
        each leg's distance added (module docstring), so later stops are never nearer."""
        return self._stop_km[index]

    @property
    def stop_count(self) -> int:
        return len(self._stops)

    def _on_route(self, place: _Place) -> bool:
        return place.offset_km <= self._config.off_route_km

    def _halt_s(self, from_km: float, to_km: float, *, skip_near: bool) -> float:
        """Planned dwell of the halts strictly between two km along the line (either order);
        ``skip_near``: leave out halts within HALT_PASSED_KM of ``from_km`` (the truck's)."""
        low, high = min(from_km, to_km), max(from_km, to_km)
        kms = [h[0] for h in self._halts]
        total = 0.0
        for km, dwell_s in self._halts[
            bisect.bisect_right(kms, low) : bisect.bisect_left(kms, high)
        ]:
            if not (skip_near and abs(km - from_km) < HALT_PASSED_KM):
                total += dwell_s
        return total

    def _leg(self, a: _Place, b: _Place, *, truck: bool = False) -> tuple[float, float]:
        """(km, halts' dwell in s) from ``a`` to ``b`` (module docstring)."""
        config = self._config
        along = abs(b.km - a.km)
        halt_s = self._halt_s(a.km, b.km, skip_near=truck)
        if self._on_route(a) and self._on_route(b):
            return along, halt_s
        factor = config.road_factor
        off_a = 0.0 if self._on_route(a) else factor * a.offset_km
        off_b = 0.0 if self._on_route(b) else factor * b.offset_km
        via_route = off_a + along + off_b
        direct = factor * haversine_km(a.point[0], a.point[1], b.point[0], b.point[1])
        return (direct, 0.0) if direct < via_route else (via_route, halt_s)

    def from_point(self, lat: float, lon: float, index: int) -> tuple[float, float]:
        """(km, halts' dwell in s) from a truck at (lat, lon) to stop ``index`` directly; the
        halt the truck is at or has just passed is not ahead."""
        return self._leg(self._place(lat, lon), self._stops[index], truck=True)

    def stop_halt_s(self, index: int) -> float:
        """Planned dwell of the route's halts on the legs from the first stop to stop ``index``."""
        return self._stop_halt_s[index]


@dataclass(frozen=True, slots=True)
class StopEta:
    index: int
    eta: float
    """Predicted arrival, epoch seconds."""
    km_left: float


def etas(
    line: RouteLine,
    lat: float,
    lon: float,
    now: float,
    speed: MovingSpeed,
    next_stop: int,
    config: EtaConfig,
    *,
    wait_s: float = 0.0,
) -> tuple[StopEta, ...]:
    """The ETA of every stop from ``next_stop`` (the first not yet reached) to the last, for a
    truck at (lat, lon) at ``now``. The dwell of ``next_stop`` itself is not counted (the ETA is
    the arrival); a truck dwelling at stop k passes ``next_stop = k + 1`` and, as ``wait_s``,
    what is left of its dwell there (added to every ETA). Empty when ``next_stop`` is past the
    last stop. The speed and dwell come from ``config``; the geometry (off-route distance, road
    factor) is the line's, fixed when it was built."""
    count = line.stop_count
    if not 0 <= next_stop < count:
        return ()
    # Never below the moving threshold: a zero default with nothing measured would divide by 0.
    kmh = max(moving_kmh(speed, config), config.moving_kmh, 1.0)
    first_km, first_halt_s = line.from_point(lat, lon, next_stop)
    base_km = line.stop_km(next_stop)
    base_halt_s = line.stop_halt_s(next_stop)
    out = []
    for index in range(next_stop, count):
        km_left = first_km + line.stop_km(index) - base_km
        halt_s = first_halt_s + line.stop_halt_s(index) - base_halt_s
        dwell_s = (index - next_stop) * config.stop_dwell_s
        eta = now + max(0.0, wait_s) + km_left / kmh * 3600.0 + dwell_s + halt_s
        out.append(StopEta(index, eta, km_left))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Breach:
    """The trend's straight line crosses ``limit_c`` at ``at``, ``before_arrival_s`` before the
    ETA, and reaches ``arrival_c`` at the ETA."""

    at: float
    before_arrival_s: float
    arrival_c: float
    limit_c: float


def arrival_temperature(
    temp_c: float, slope_c_per_s: float, limit_c: float, now: float, eta: float
) -> Breach | None:
    """When the current trend (``temp_c`` now, ``slope_c_per_s``) crosses ``limit_c`` after now
    and before ``eta``: the breach; None otherwise. Pass the high limit for a rising trend and the
    low one for a falling trend: the crossing is where the line meets the limit ahead in time.
    Already beyond the limit is None: the excursion alerts speak then, not a prediction."""
    gap = limit_c - temp_c
    if not (math.isfinite(gap) and math.isfinite(slope_c_per_s)) or slope_c_per_s == 0.0:
        return None
    to_breach = gap / slope_c_per_s
    if to_breach <= 0.0 or now + to_breach >= eta:
        return None
    return Breach(
        at=now + to_breach,
        before_arrival_s=eta - (now + to_breach),
        arrival_c=temp_c + slope_c_per_s * (eta - now),
        limit_c=limit_c,
    )


CARGO_WORDS = {"frozen": "frozen goods", "default": "cargo"}
"""Cargo profile names that do not read as a noun after "the"."""


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60.0))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def breach_sentence(breach: Breach, cargo: str, stop_name: str) -> str:
    """One line for a person: "at this rate the vaccines reach 8.0 °C 40 min before Kisumu
    regional vaccine depot"."""
    words = CARGO_WORDS.get(cargo, cargo.lower())
    return (
        f"at this rate the {words} reach {breach.limit_c:.1f} °C "
        f"{_duration(breach.before_arrival_s)} before {stop_name}"
    )
