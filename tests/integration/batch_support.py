"""Helpers for the batch-view tests: the schema, readings written as the owner, a made-up trip.

``apply_schema`` is ``logistream.schema.migrate.migrate`` (the batch views are 0010 and 0011).
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from logistream.config import Settings
from logistream.schema.migrate import migrate

READING_COLUMNS = (
    "event_id",
    "event_time",
    "truck_id",
    "temp",
    "fuel",
    "trip_id",
    "driver_id",
    "cargo",
    "lat",
    "lon",
    "speed_kmh",
    "door_open",
    "reefer_on",
    "defrost",
    "source_partition",
    "source_offset",
)


def apply_schema(settings: Settings) -> None:
    """The shipped migrations, as the contract in DEVELOPING.md says."""
    assert settings.database_url
    migrate(settings, settings.database_url)


@dataclass
class Row:
    t: float
    truck_id: str
    temp: float
    fuel: float | None = None
    trip_id: str | None = None
    driver_id: str | None = None
    cargo: str | None = None
    lat: float | None = None
    lon: float | None = None
    speed_kmh: float | None = None
    door_open: bool | None = None
    reefer_on: bool | None = None
    defrost: bool | None = None
    event_id: str = ""

    def values(self, offset: int) -> tuple[Any, ...]:
        return (
            self.event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.truck_id}|{self.t!r}")),
            datetime.fromtimestamp(self.t, UTC),
            self.truck_id,
            self.temp,
            self.fuel,
            self.trip_id,
            self.driver_id,
            self.cargo,
            self.lat,
            self.lon,
            self.speed_kmh,
            self.door_open,
            self.reefer_on,
            self.defrost,
            0,
            offset,
        )


def insert_readings(url: str, rows: list[Row], first_offset: int = 0) -> None:
    """Write readings straight into the archive as the owner (creating day partitions)."""
    days = sorted({datetime.fromtimestamp(r.t, UTC).date() for r in rows})
    with psycopg.connect(url) as conn:
        for day in days:
            conn.execute("SELECT ensure_reading_partition(%s)", [day])
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY readings ({', '.join(READING_COLUMNS)}) FROM STDIN") as copy,
        ):
            for i, r in enumerate(rows):
                copy.write_row(r.values(first_offset + i))


def made_up_trip(
    rng: random.Random,
    *,
    truck_id: str = "KBX 123A",
    trip_id: str = "KBX123A-1",
    cargo: str = "vaccines",
    start: float = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp(),
    hours: float = 6.0,
    step_s: float = 5.0,
    excursion: tuple[float, float, float] | None = (1.5, 2.4, 10.5),
    defrost: tuple[float, float] | None = (3.0, 3.4),
    theft: tuple[float, float] | None = (4.0, 80.0),
    refuel: float | None = 4.6,
    harsh: tuple[float, ...] = (1.0, 5.0),
) -> list[Row]:
    """One trip with what the views look for, at ``step_s`` with jitter; hours from the start.

    ``excursion`` (from_h, to_h, peak °C), a defrost (from_h, to_h) at 9.5 °C, a theft (at_h,
    litres) while parked 20 min, a refuel to 95 % at ``refuel`` h, harsh stops at ``harsh`` h.
    """
    rows: list[Row] = []
    fuel_l, tank = 300.0, 400.0
    lat, lon = -1.30, 36.80
    t, v, prev_t = 0.0, 0.0, 0.0
    end = hours * 3600
    while t <= end:
        h = t / 3600
        dt = t - prev_t
        parked = theft is not None and theft[0] - 0.1 <= h < theft[0] + 0.25
        pumping = refuel is not None and refuel <= h < refuel + 0.1
        braking = any(b <= h < b + 12 / 3600 for b in harsh)
        if h < 0.1 or parked or pumping or h > hours - 0.1:
            target = 0.0
        else:
            target = 88.0 if 2.0 <= h < 2.3 else 70.0 + 5 * math.sin(t / 900)
        if braking:
            v = max(0.0, v - 4.5 * 3.6 * dt)
        elif v < target:
            v = min(target, v + 0.5 * 3.6 * dt)
        else:
            v = max(target, v - 0.8 * 3.6 * dt)
        lat -= v * dt / 3600 / 111.2
        fuel_l -= 0.35 * v * dt / 3600 + 3.0 * dt / 3600
        if theft is not None and theft[0] <= h < theft[0] + 1 / 6:
            fuel_l -= theft[1] / 600 * dt
        if pumping and fuel_l < 0.95 * tank:
            fuel_l = min(0.95 * tank, fuel_l + 1.0 * dt)
        temp = 5.0 + rng.gauss(0, 0.15)
        in_defrost = defrost is not None and defrost[0] <= h < defrost[1]
        if excursion is not None and excursion[0] <= h < excursion[1]:
            x = (h - excursion[0]) / (excursion[1] - excursion[0])
            temp = 5.0 + (excursion[2] - 5.0) * math.sin(math.pi * x)
        elif in_defrost:
            temp = 9.5 + rng.gauss(0, 0.1)
        rows.append(
            Row(
                t=start + t,
                truck_id=truck_id,
                temp=round(temp, 2),
                fuel=round(fuel_l / tank * 100 + rng.gauss(0, 0.05), 2),
                trip_id=trip_id,
                driver_id="DRV-001",
                cargo=cargo,
                lat=round(lat, 6),
                lon=lon,
                speed_kmh=round(v, 1),
                reefer_on=True,
                defrost=in_defrost,
                door_open=False,
            )
        )
        prev_t = t
        t += step_s * rng.uniform(0.6, 1.4)
    return rows


def fetch(url: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode(), params or []).fetchall()  # type: ignore[arg-type]


def day(d: str) -> date:
    return date.fromisoformat(d)
