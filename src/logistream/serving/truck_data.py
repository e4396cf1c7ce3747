"""The truck page's logic (pure): temperature series, excursions against the cargo range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from logistream.registry import CargoProfile


@dataclass(frozen=True, slots=True)
class Excursion:
    """A stretch of consecutive readings outside the range (display only; audits use batch)."""

    start: float
    end: float
    side: str
    """``high`` or ``low``."""
    peak: float


def excursions(points: Sequence[tuple[float, float]], low: float, high: float) -> list[Excursion]:
    """Runs of (time, °C) points, oldest first, above ``high`` or below ``low``."""
    found: list[Excursion] = []
    current: tuple[str, float, float, float] | None = None  # side, start, end, peak
    for t, temp in points:
        side = "high" if temp > high else "low" if temp < low else None
        if current is not None and side == current[0]:
            peak = max(current[3], temp) if side == "high" else min(current[3], temp)
            current = (current[0], current[1], t, peak)
            continue
        if current is not None:
            found.append(Excursion(current[1], current[2], current[0], current[3]))
            current = None
        if side is not None:
            current = (side, t, t, temp)
    if current is not None:
        found.append(Excursion(current[1], current[2], current[0], current[3]))
    return found


def to_local(epoch_s: float, timezone: str) -> datetime:
    """A naive local datetime (charts label axes in the zone's wall time)."""
    return (
        datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    )


def merge_series(
    archived: Sequence[tuple[float, float]], live: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """History from PostgreSQL then the live points from Redis, without duplicates, in order."""
    merged = dict(archived)
    merged.update(live)
    return sorted(merged.items())


def chart_rows(
    points: Sequence[tuple[float, float]], profile: CargoProfile, timezone: str
) -> list[dict[str, Any]]:
    """Rows for the temperature chart: time, °C, the range, and whether the point is outside."""
    return [
        {
            "time": to_local(t, timezone),
            "temp": temp,
            "low": profile.low_c,
            "high": profile.high_c,
            "outside": not (profile.low_c <= temp <= profile.high_c),
        }
        for t, temp in points
    ]


def excursion_rows(found: Sequence[Excursion], timezone: str) -> list[dict[str, Any]]:
    return [
        {
            "start": to_local(e.start, timezone),
            "end": to_local(e.end, timezone),
            "side": e.side,
            "peak °C": round(e.peak, 1),
            "minutes": round((e.end - e.start) / 60, 1),
        }
        for e in found
    ]
