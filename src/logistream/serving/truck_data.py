"""The truck page's logic (pure): the temperature series (one per probe on a truck with several),
the audit's excursions and the current trip's time out of range for display, every time on one
24-hour clock in the display zone.

The page shows the batch views' excursions and time out of range, never its own: one definition
of an excursion (alarm delays, hysteresis, critical limits) for the page, the report and the audit.

Operating modes (issue 18): each mode interval in force over the chart's window
(``reads.modes``) is a shaded band labelled with its kind, clipped to the window; its tooltip
says the reason, the times on the page's clock, who set and who approved it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from logistream.display_time import in_zone
from logistream.reads.modes import ModeInterval
from logistream.reads.trip_out_of_range import TripOutOfRange
from logistream.registry import CargoProfile

CLOCK: Final = "%d %b %H:%M:%S"
"""The page's one clock (``07 Dec 14:03:22``), the Live and Alerts pages' too: 24-hour, local."""
AXIS_CLOCK: Final = "%H:%M"
"""The charts' axis labels: the 24-hour clock without the date (Vega's default is 12-hour)."""


def clock(moment: float, timezone: str) -> str:
    """``07 Dec 14:03:22``: a time on the page's clock, in the display zone."""
    return in_zone(moment, timezone).strftime(CLOCK)


def text_times(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose local datetimes (from :func:`to_local`) are shown on the page's clock."""
    return [
        {k: v.strftime(CLOCK) if isinstance(v, datetime) else v for k, v in row.items()}
        for row in rows
    ]


def chart_time(epoch_s: float, timezone: str) -> str:
    """The zone's wall-clock time marked as UTC, for a chart drawn in UTC: the browser's own
    time zone then cannot move the labels away from the display zone's clock."""
    return to_local(epoch_s, timezone).isoformat() + "Z"


def fuel_speed_rows(history: Sequence[Mapping[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """Archived readings (``t``, ``fuel``, ``speed_kmh``) as one row per series and time, the
    time for the axis (:func:`chart_time`) and on the page's clock for the tooltip."""
    return [
        {
            "time": chart_time(h["t"], timezone),
            "at": clock(h["t"], timezone),
            "series": series,
            "value": h[field],
        }
        for series, field in (("fuel %", "fuel"), ("speed km/h", "speed_kmh"))
        for h in history
        if h[field] is not None
    ]


def trip_key(truck_id: str, trip_id: str | None, timestamp: float) -> str:
    """The trip a live reading belongs to, as the batch views key it (``TRIP_EXPR`` in
    ``schema.trip_key``): the trip_id sent, else the truck and the reading's UTC day."""
    if trip_id:
        return trip_id
    return f"{truck_id}@{datetime.fromtimestamp(timestamp, UTC):%Y-%m-%d}"


def duration_text(seconds: float) -> str:
    """``23 h 10 min``, ``9 min``, ``45 s``: a duration for people (whole minutes, rounded down)."""
    seconds = max(0.0, seconds)
    if 0 < seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def out_of_range_figure(
    audited: TripOutOfRange | None, trip_id: str, timezone: str
) -> tuple[str, str]:
    """The "Out of range this trip" figure and its explanation (what it covers, as of when)."""
    if audited is None:
        return "—", (
            f"Time out of range this trip: trip {trip_id} is not in the batch views yet "
            "(`logistream batch` computes them; the demo runs it every minute)."
        )
    budget = f"; budget {duration_text(audited.budget_s)}" if audited.budget_s > 0 else ""
    return duration_text(audited.tor_s), (
        f"Time out of range on trip {trip_id}, as the audit counts it (batch views), "
        f"readings up to {clock(audited.audited_to, timezone)}{budget}."
    )


def to_local(epoch_s: float, timezone: str) -> datetime:
    """A naive local datetime (charts label axes in the zone's wall time)."""
    return (
        datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    )


def merge_series(
    archived: Sequence[tuple[float, float]], live: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """History from PostgreSQL then the live points from Redis, without duplicates, in order.
    Times are compared to the microsecond: the archive keeps no finer time than that."""
    merged = {round(t, 6): v for t, v in archived}
    merged.update((round(t, 6), v) for t, v in live)
    return sorted(merged.items())


def probe_series(
    archived: Sequence[Mapping[str, Any]],
    live: Mapping[str | None, Sequence[tuple[float, float]]],
) -> dict[str | None, list[tuple[float, float]]]:
    """Each probe's temperature curve (key None: the truck's single probe): its archived readings
    (rows with ``t``, ``temp`` and ``probe_id``) then its live points, merged per probe, so one
    probe's curve never zigzags through another's. Probes with no point are left out."""
    archived_by: dict[str | None, list[tuple[float, float]]] = {}
    for h in archived:
        archived_by.setdefault(h.get("probe_id"), []).append((h["t"], h["temp"]))
    series = {}
    for probe_id in dict.fromkeys([*archived_by, *live]):
        points = merge_series(archived_by.get(probe_id, []), live.get(probe_id, []))
        if points:
            series[probe_id] = points
    return series


def series_rows(
    series: Mapping[str, Sequence[tuple[float, float]]], profile: CargoProfile, timezone: str
) -> list[dict[str, Any]]:
    """:func:`chart_rows` of each named curve, its name in ``probe``."""
    return [
        {**row, "probe": name}
        for name, points in series.items()
        for row in chart_rows(points, profile, timezone)
    ]


def chart_rows(
    points: Sequence[tuple[float, float]], profile: CargoProfile, timezone: str
) -> list[dict[str, Any]]:
    """Rows for the temperature chart: time (see :func:`chart_time`) and the same on the page's
    clock for the tooltip, °C, the range, and whether the point is outside."""
    return [
        {
            "time": chart_time(t, timezone),
            "at": clock(t, timezone),
            "temp": temp,
            "low": profile.low_c,
            "high": profile.high_c,
            "outside": not (profile.low_c <= temp <= profile.high_c),
        }
        for t, temp in points
    ]


def excursion_rows(records: Sequence[dict[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """The audit's excursions (rows of ``reads.tables.truck_excursions``) in local time; a
    column "probe" only when some excursion is a named probe's (a truck with several)."""
    probes = any(r.get("probe") for r in records)
    return [
        {
            "start": to_local(r["start"], timezone),
            "end": to_local(r["end"], timezone),
            **({"probe": r.get("probe") or "—"} if probes else {}),
            "kind": r["kind"] + (" (ongoing)" if r["ongoing"] else ""),
            "peak °C": round(r["peak_c"], 1),
            "minutes out": r["minutes_out"],
            "alarm": "—" if r["alarm_at"] is None else to_local(r["alarm_at"], timezone),
            "trip": r["trip_id"],
        }
        for r in records
    ]


def mode_band_rows(
    modes: Sequence[ModeInterval], window_start: float, window_end: float, timezone: str
) -> list[dict[str, Any]]:
    """One band per mode interval over ``[window_start, window_end]`` (epoch seconds), clipped
    to it, for the temperature chart: start and end for the axis (:func:`chart_time`), the kind
    as its label, and for the tooltip the reason, the times on the page's clock (the mode's own,
    not clipped), who set it and who approved it. A mode outside the window has no band."""
    rows = []
    for m in modes:
        start, end = m.starts_at.timestamp(), m.ends_at.timestamp()
        if end <= window_start or start >= window_end:
            continue
        rows.append(
            {
                "start": chart_time(max(start, window_start), timezone),
                "end": chart_time(min(end, window_end), timezone),
                "kind": m.kind,
                "reason": m.reason,
                "from": clock(start, timezone),
                "to": clock(end, timezone) + (" (ended early)" if m.ended_early else ""),
                "set_by": m.set_by,
                "approved_by": m.approved_by or "—",
            }
        )
    return rows
