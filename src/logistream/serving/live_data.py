"""What the live pages show, computed from the speed layer's Redis views (no Streamlit here).

Pure shaping of ``live_views`` records into rows and headline figures, so it is unit-testable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from logistream.events import SEVERITY_ORDER, Alert
from logistream.live_views import Heartbeat, TruckView
from logistream.registry import Registry
from logistream.serving import probe_temps

# A heartbeat older than this means the speed layer is stalled or gone, not that all is quiet.
STALE_HEARTBEAT_S = 10.0


@dataclass(frozen=True, slots=True)
class Headline:
    trucks: int
    in_range: int
    open_by_severity: dict[str, int]

    @property
    def share_in_range(self) -> float:
        return self.in_range / self.trucks if self.trucks else 1.0


def local_time(epoch_s: float | None, timezone: str) -> str:
    if epoch_s is None:
        return "—"
    moment = datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(ZoneInfo(timezone))
    return moment.strftime("%d %b %H:%M:%S")


def in_range(view: TruckView, registry: Registry) -> bool:
    """Every probe of the truck within its cargo's range."""
    profile = registry.profile_for(view.reading.cargo)
    return all(profile.low_c <= t <= profile.high_c for t in probe_temps.temps(view))


def headline(fleet: list[TruckView], alerts: list[Alert], registry: Registry) -> Headline:
    counts: Counter[str] = Counter(a.severity for a in alerts if a.state != "resolved")
    ordered = {severity: counts.get(severity, 0) for severity in SEVERITY_ORDER}
    return Headline(
        trucks=len(fleet),
        in_range=sum(1 for view in fleet if in_range(view, registry)),
        open_by_severity=ordered,
    )


def truck_rows(fleet: list[TruckView], registry: Registry, timezone: str) -> list[dict[str, Any]]:
    """One row per truck, the worst status first."""
    status_rank = {**SEVERITY_ORDER, "offline": len(SEVERITY_ORDER), "ok": len(SEVERITY_ORDER) + 1}
    rows = []
    for view in sorted(fleet, key=lambda v: (status_rank.get(v.status, 99), v.truck_id)):
        reading = view.reading
        profile = registry.profile_for(reading.cargo)
        rows.append(
            {
                "truck": view.truck_id,
                "status": view.status,
                "cargo": profile.label if reading.cargo else "—",
                # Text: a truck with several probes shows each ("front 4.8 · rear 5.1").
                "temp °C": probe_temps.live_text(view, registry, unit=""),
                "range °C": f"{profile.low_c:g} – {profile.high_c:g}",
                "fuel %": None if reading.fuel is None else round(reading.fuel, 1),
                "speed km/h": None if reading.speed_kmh is None else round(reading.speed_kmh),
                "open alerts": len([a for a in view.alerts if a.state != "resolved"]),
                "last reading": local_time(reading.timestamp, timezone),
            }
        )
    return rows


def alert_rows(alerts: list[Alert], timezone: str) -> list[dict[str, Any]]:
    """Open alerts, most severe then oldest first."""
    ordered = sorted(alerts, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.opened_at))
    return [
        {
            "severity": alert.severity,
            "truck": alert.truck_id,
            "rule": alert.rule,
            "state": alert.state,
            "message": alert.message,
            "opened": local_time(alert.opened_at, timezone),
            "acknowledged by": alert.acknowledged_by or "",
            "alert id": alert.alert_id,
        }
        for alert in ordered
    ]


def speed_layer_health(heartbeats: list[Heartbeat]) -> tuple[bool, str]:
    """Whether the speed layer is alive, and one line saying so."""
    if not heartbeats:
        return False, "Speed layer: no heartbeat — it is not running; live data is not updating."
    freshest = min(heartbeats, key=lambda h: h.age_s)
    if freshest.age_s > STALE_HEARTBEAT_S:
        return False, (
            f"Speed layer stalled: last heartbeat {freshest.age_s:.0f} s ago; "
            "live data is not updating."
        )
    lag = max(h.lag_records for h in heartbeats)
    return True, f"Speed layer OK: {len(heartbeats)} process(es), lag {lag} readings."
