"""The audits page's logic (pure): which batch views are missing, and a trip's report content."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from logistream.registry import CargoProfile
from logistream.serving import table_labels
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


# The figures of a trip's header, in this order (columns of the trips or archive row).
SUMMARY_COLUMNS: Final = (
    "trip_id", "truck_id", "route", "driver_id", "driver", "started", "ended", "last_reading",
    "readings", "min_c", "max_c", "mean_c", "mkt_c", "tor_min", "excursions",
)  # fmt: skip


def trip_figures(
    trip: Mapping[str, Any], profile: CargoProfile, ctx: table_labels.Context
) -> list[dict[str, str]]:
    """A trip's key figures for its header, as labelled lines ("Figure", "Value") for people:
    the cargo with its allowed range, then what the row holds (a missing MKT says why)."""
    wanted = {name: trip[name] for name in SUMMARY_COLUMNS if name in trip}
    if "mkt_c" in wanted:
        wanted["cargo"] = profile.name  # why an MKT is missing depends on the profile
    shown = table_labels.for_people([wanted], ctx, hide=("cargo",))[0]
    lines = [
        {"Figure": label, "Value": table_labels.number_text(v) if isinstance(v, float) else str(v)}
        for label, v in shown.items()
    ]
    # The cargo and its range right after the trip and truck: what the figures are judged by.
    at = 2 if len(lines) >= 2 else len(lines)
    lines[at:at] = [
        {"Figure": "Cargo", "Value": profile.label},
        {"Figure": "Allowed range", "Value": f"{profile.low_c:g} to {profile.high_c:g} °C"},
    ]
    return lines


def alert_lines(alerts: Sequence[Mapping[str, Any]], timezone: str) -> list[str]:
    lines = []
    for a in alerts:
        who = f" by {a['acknowledged_by']}" if a.get("acknowledged_by") else ""
        lines.append(
            f"{local_time(a['changed'], timezone)} {a['state']}{who}: {a['severity']} "
            f"{a['rule']} — {a['message']}"
        )
    return lines


def verdict_counts(trips: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Trips per verdict (``pass``, ``review``, ``fail``, and ``not audited`` without one)."""
    counts = {"pass": 0, "review": 0, "fail": 0, "not audited": 0}
    for trip in trips:
        verdict = trip.get("verdict")
        counts[verdict if verdict in counts else "not audited"] += 1
    return counts


def batch_excursion_lines(excursions: Sequence[Mapping[str, Any]], timezone: str) -> list[str]:
    """One line per excursion (rows of ``reads.tables.trip_excursions``), led by its probe when
    it is a named probe's ("rear probe: high from ..."); a single probe's line names none."""
    lines = []
    for e in excursions:
        ongoing = " (ongoing)" if e.get("ongoing") else ""
        probe = f"{e['probe']} probe: " if e.get("probe") else ""
        lines.append(
            f"{probe}{e['kind']} from {local_time(e['start'], timezone)} to "
            f"{local_time(e['end'], timezone)}{ongoing}, "
            f"peak {table_labels.number_text(e['peak_c'])} °C, "
            f"{table_labels.duration_text(e['minutes'] * 60)}"
        )
    return lines
