"""Driver behaviour on one trip: harsh braking and acceleration, speeding, idling, a score.

- Acceleration comes from the speed change between consecutive readings at most
  ``accel_max_gap_s`` apart, in m/s² (at one reading a minute no harsh event can be seen; the
  simulator and real trackers send 1 Hz). A run of consecutive harsh readings is one event.
- Speeding: time (sample-and-hold, :mod:`timeline`) above ``speed_limit_kmh`` (80 km/h, the
  limit for heavy commercial vehicles in Kenya).
- Idling: time stationary (at most ``parked_kmh``) between the first and the last moving
  reading, so waiting at the depot before departure and after arrival is not counted.
- Score, 0–100: 100 − 5 × harsh events per 100 km − 100 × share of driving time speeding
  − 20 × share of the time stationary; rates per 100 km use at least 10 km, so a short trip
  with one event is not scored as if it had dozens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logistream.batch.views.fuel import step_km
from logistream.coldchain.params import BatchParams
from logistream.coldchain.timeline import holds

MIN_RATE_KM = 10.0


@dataclass(frozen=True, slots=True)
class DriveSample:
    t: float
    speed_kmh: float | None
    lat: float | None = None
    lon: float | None = None
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class DriverSummary:
    distance_km: float
    harsh_brakes: int
    harsh_accels: int
    brakes_per_100km: float
    accels_per_100km: float
    driving_s: float
    speeding_s: float
    idling_s: float
    max_speed_kmh: float | None
    score: float


def score(
    *, brakes_per_100km: float, accels_per_100km: float, driving_s: float, speeding_s: float,
    idling_s: float,
) -> float:  # fmt: skip
    speeding_share = speeding_s / driving_s if driving_s > 0 else 0.0
    idle_share = idling_s / (driving_s + idling_s) if driving_s + idling_s > 0 else 0.0
    raw = (
        100.0
        - 5.0 * (brakes_per_100km + accels_per_100km)
        - 100.0 * speeding_share
        - 20.0 * idle_share
    )
    return min(100.0, max(0.0, raw))


def trip_driving(samples: Sequence[DriveSample], p: BatchParams) -> DriverSummary:
    rows = sorted(samples, key=lambda s: (s.t, s.event_id))
    hs = holds([s.t for s in rows], p.hold_max_s)
    distance = sum(
        step_km(
            (rows[i - 1].lat, rows[i - 1].lon),
            (rows[i].lat, rows[i].lon),
            rows[i].t - rows[i - 1].t,
            p,
        )
        for i in range(1, len(rows))
    )
    brake = [False] * len(rows)
    accel = [False] * len(rows)
    for i in range(1, len(rows)):
        v0, v1 = rows[i - 1].speed_kmh, rows[i].speed_kmh
        dt = rows[i].t - rows[i - 1].t
        if v0 is None or v1 is None or not 0 < dt <= p.accel_max_gap_s:
            continue
        a = (v1 - v0) / 3.6 / dt
        brake[i] = a <= -p.harsh_braking_ms2
        accel[i] = a >= p.harsh_acceleration_ms2
    brakes = sum(1 for i, f in enumerate(brake) if f and not (i > 0 and brake[i - 1]))
    accels = sum(1 for i, f in enumerate(accel) if f and not (i > 0 and accel[i - 1]))
    moving = [s.t for s in rows if s.speed_kmh is not None and s.speed_kmh > p.parked_kmh]
    driving = speeding = idling = 0.0
    for s, h in zip(rows, hs, strict=True):
        if s.speed_kmh is None:
            continue
        if s.speed_kmh > p.parked_kmh:
            driving += h.weight_s
        elif moving and moving[0] <= s.t < moving[-1]:
            idling += h.weight_s
        if s.speed_kmh > p.speed_limit_kmh:
            speeding += h.weight_s
    per = 100.0 / max(distance, MIN_RATE_KM)
    speeds = [s.speed_kmh for s in rows if s.speed_kmh is not None]
    return DriverSummary(
        distance_km=distance,
        harsh_brakes=brakes,
        harsh_accels=accels,
        brakes_per_100km=brakes * per,
        accels_per_100km=accels * per,
        driving_s=driving,
        speeding_s=speeding,
        idling_s=idling,
        max_speed_kmh=max(speeds) if speeds else None,
        score=score(
            brakes_per_100km=brakes * per,
            accels_per_100km=accels * per,
            driving_s=driving,
            speeding_s=speeding,
            idling_s=idling,
        ),
    )
