"""The audits page's logic (pure): which batch views are missing, and a trip's report content."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from logistream.registry import CargoProfile
from logistream.serving.live_data import local_time


def missing_line(wanted: Sequence[str], found: Collection[str], what: str) -> str | None:
    """One line naming the batch views that do not exist yet, or None when all do."""
    missing = [name for name in wanted if name not in found]
    if not missing:
        return None
    return (
        f"Batch views not built yet: {', '.join(missing)} — {what} shows what the raw archive "
        "holds; run `logistream batch` once the batch layer ships them."
    )


def trip_summary(trip: Mapping[str, Any], profile: CargoProfile, timezone: str) -> dict[str, Any]:
    """Key figures of one trip for the report header (from a trips/archive row)."""
    summary: dict[str, Any] = {
        "trip": trip.get("trip_id"),
        "truck": trip.get("truck_id"),
        "cargo": profile.label,
        "range °C": f"{profile.low_c:g} – {profile.high_c:g}",
    }
    for key in ("verdict", "reason", "mkt_c", "tor_s", "min_c", "max_c", "mean_c", "readings"):
        if key in trip and trip[key] is not None:
            value = trip[key]
            summary[key] = round(value, 2) if isinstance(value, float) else value
    for key in ("started", "last_reading", "start", "end"):
        if isinstance(trip.get(key), int | float):
            summary[key] = local_time(float(trip[key]), timezone)
    return summary


def alert_lines(alerts: Sequence[Mapping[str, Any]], timezone: str) -> list[str]:
    lines = []
    for a in alerts:
        who = f" by {a['acknowledged_by']}" if a.get("acknowledged_by") else ""
        lines.append(
            f"{local_time(a['changed'], timezone)} {a['state']}{who}: {a['severity']} "
            f"{a['rule']} — {a['message']}"
        )
    return lines


def localise(
    records: Sequence[dict[str, Any]], columns: Collection[str], timezone: str
) -> list[dict[str, Any]]:
    """The same rows with the epoch-second ``columns`` shown as local times."""
    out = []
    for record in records:
        row = dict(record)
        for name in columns:
            if isinstance(row.get(name), int | float):
                row[name] = local_time(float(row[name]), timezone)
        out.append(row)
    return out


def verdict_counts(trips: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Trips per verdict (``pass``, ``review``, ``fail``, and ``not audited`` without one)."""
    counts = {"pass": 0, "review": 0, "fail": 0, "not audited": 0}
    for trip in trips:
        verdict = trip.get("verdict")
        counts[verdict if verdict in counts else "not audited"] += 1
    return counts


def batch_excursion_lines(excursions: Sequence[Mapping[str, Any]], timezone: str) -> list[str]:
    return [
        f"{e['kind']} from {local_time(e['start'], timezone)} to {local_time(e['end'], timezone)}"
        f"{' (ongoing)' if e.get('ongoing') else ''}, peak {e['peak_c']:.1f} °C, "
        f"{e['minutes']:.0f} min"
        for e in excursions
    ]
