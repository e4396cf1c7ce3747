"""The truck page's logic (pure): the temperature series, and the audit's excursions for display.

The page shows the batch views' excursions, never its own: one definition of an excursion (alarm
delays, hysteresis, critical limits) for the page, the report and the audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from logistream.registry import CargoProfile


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


def excursion_rows(records: Sequence[dict[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """The audit's excursions (rows of ``reads.tables.truck_excursions``) in local time."""
    return [
        {
            "start": to_local(r["start"], timezone),
            "end": to_local(r["end"], timezone),
            "kind": r["kind"] + (" (ongoing)" if r["ongoing"] else ""),
            "peak °C": round(r["peak_c"], 1),
            "minutes out": r["minutes_out"],
            "alarm": "—" if r["alarm_at"] is None else to_local(r["alarm_at"], timezone),
            "trip": r["trip_id"],
        }
        for r in records
    ]
