"""The alerts page's logic (pure): enrich, filter and order alerts for a dispatcher; what the
acknowledge picker offers; and column widths that fit what a column will hold."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from logistream.events import RULE_NAMES, SEVERITY_ORDER, Alert, AlertState
from logistream.geo import haversine_km
from logistream.registry import Registry
from logistream.serving.live_data import local_time

# The rule names of DEVELOPING.md: a filter offers them all, firing or not.
RULES: Final = RULE_NAMES

# Within this distance of a named waypoint a place is called "at" it, else "near" it.
AT_PLACE_KM = 3.0


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Empty collections mean "all"."""

    severities: Collection[str] = ()
    rules: Collection[str] = ()
    routes: Collection[str] = ()


def route_of(truck_id: str, registry: Registry) -> str | None:
    truck = registry.truck(truck_id)
    return truck.route if truck else None


def place(lat: float | None, lon: float | None, registry: Registry) -> str:
    """The nearest named waypoint of any route, as "at X" or "12 km from X"."""
    if lat is None or lon is None:
        return "—"
    best: tuple[float, str] | None = None
    for route in registry.routes.values():
        for waypoint in route.waypoints:
            if waypoint.kind == "via":
                continue
            km = haversine_km(lat, lon, waypoint.lat, waypoint.lon)
            if best is None or km < best[0]:
                best = (km, waypoint.name)
    if best is None:
        return f"{lat:.3f}, {lon:.3f}"
    km, name = best
    return f"at {name}" if km <= AT_PLACE_KM else f"{km:.0f} km from {name}"


def ordered(alerts: Sequence[Alert]) -> list[Alert]:
    """Most severe first, then oldest first (the one waiting longest), then by id."""
    return sorted(
        alerts, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.opened_at, a.alert_id)
    )


def apply_filter(alerts: Sequence[Alert], chosen: AlertFilter, registry: Registry) -> list[Alert]:
    return [
        a
        for a in alerts
        if (not chosen.severities or a.severity in chosen.severities)
        and (not chosen.rules or a.rule in chosen.rules)
        and (not chosen.routes or route_of(a.truck_id, registry) in chosen.routes)
    ]


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


UNITS: Final[dict[str, str]] = {
    "temp_high": "°C",
    "temp_low": "°C",
    "temp_critical": "°C",
    "temp_rising": "°C",
    "sensor_fault": "°C",
    "tor_budget": "min",
    "sensor_offline": "min",
    "fuel_theft": "L",
    "fuel_low": "%",
    "speeding": "km/h",
    "harsh_braking": "m/s²",
    "harsh_acceleration": "m/s²",
    "route_deviation": "km",
    "not_precooled": "min",
    "eta_late": "min",
}
"""The unit of each rule's value and threshold (door_open: see :func:`unit_of`)."""


def unit_of(alert: Alert) -> str:
    """The unit of the alert's value: door_open holds a speed when the door opened on the move,
    else the minutes it has stood open."""
    if alert.rule == "door_open":
        return "km/h" if "while moving" in alert.message else "min"
    return UNITS.get(alert.rule, "")


def _number(value: float) -> str:
    """Up to two decimals, none trailing: 12.01 stays 12.01 (never rounded onto a limit of 12)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def value_text(alert: Alert) -> str:
    """``9.5 °C (limit 8 °C)``: the alert's value and threshold, with their unit."""
    if alert.value is None:
        return "—"
    unit = unit_of(alert)
    suffix = f" {unit}" if unit else ""
    limit = f" (limit {_number(alert.threshold)}{suffix})" if alert.threshold is not None else ""
    return f"{_number(alert.value)}{suffix}{limit}"


def table(
    alerts: Sequence[Alert], registry: Registry, timezone: str, now: float
) -> list[dict[str, Any]]:
    """One row per alert, in the order given."""
    rows = []
    for alert in alerts:
        route = route_of(alert.truck_id, registry)
        rows.append(
            {
                "severity": alert.severity,
                "state": alert.state,
                "truck": alert.truck_id,
                "cargo": registry.profile_for(alert.cargo).label if alert.cargo else "—",
                "rule": alert.rule,
                "value": value_text(alert),
                "place": place(alert.lat, alert.lon, registry),
                "route": registry.routes[route].label if route else "—",
                "opened": local_time(alert.opened_at, timezone),
                "age": age_text(now - alert.opened_at),
                "message": alert.message,
                "acknowledged by": alert.acknowledged_by or "",
                "alert id": alert.alert_id,
            }
        )
    return rows


def change_rows(changes: Sequence[Alert], timezone: str) -> list[dict[str, Any]]:
    """Recent state changes, newest first, as given."""
    return [
        {
            "changed": local_time(c.changed_at, timezone),
            "state": c.state,
            "severity": c.severity,
            "truck": c.truck_id,
            "rule": c.rule,
            "by": c.acknowledged_by or "",
            "note": c.ack_note or "",
            "message": c.message,
        }
        for c in changes
    ]


@dataclass(frozen=True, slots=True)
class AckChoices:
    """The acknowledge picker's alerts, after what this session has acknowledged."""

    waiting: list[Alert]
    """Open alerts nobody has acknowledged yet: the picker's options, in :func:`ordered` order."""
    sent: list[Alert]
    """Acknowledged from this session, still open: the speed layer has not applied it yet."""

    @property
    def still_sent(self) -> set[str]:
        """The ids worth remembering as sent (an applied or vanished alert needs no memory)."""
        return {a.alert_id for a in self.sent}


def ack_choices(alerts: Sequence[Alert], sent: Collection[str]) -> AckChoices:
    """Split the open alerts into those to pick from and those already sent from this session,
    so that after an acknowledgement the picker moves on to an alert still waiting."""
    still_open = [a for a in ordered(alerts) if a.state == "open"]
    return AckChoices(
        waiting=[a for a in still_open if a.alert_id not in sent],
        sent=[a for a in still_open if a.alert_id in sent],
    )


def sent_text(sent: Sequence[Alert]) -> str:
    """``Sent, not applied yet: KCK 293K temp_high.`` (empty when nothing is pending)."""
    if not sent:
        return ""
    return "Sent, not applied yet: " + "; ".join(f"{a.truck_id} {a.rule}" for a in sent) + "."


def text_width_px(text: str) -> int:
    """A generous width for ``text`` in the grid's 14 px font: 8 px a character, 16 px padding."""
    return 8 * len(text) + 16


ColumnWidth = Literal["small", "medium", "large"] | int
"""A grid column's width: one of Streamlit's named widths, or pixels."""

NAME_WIDTH: Final = text_width_px("acknowledged by")
"""Who acknowledged: a user name (15 characters shown whole), as wide as the column's header."""

COLUMN_WIDTHS: Final[dict[str, ColumnWidth]] = {
    "state": max(text_width_px(s) for s in ("state", *get_args(AlertState))),
    "acknowledged by": NAME_WIDTH,
    "by": NAME_WIDTH,
    "note": "large",
}
"""Fixed widths of the alert tables' columns whose contents change as the table refreshes: the
grid sizes a column to its first contents and keeps that size, so a state column first drawn
with "open" cut "acknowledged", and a note column first drawn empty cut every note."""


def choice_label(alert: Alert, timezone: str) -> str:
    """How an alert is named in the acknowledge picker."""
    return (
        f"{alert.severity.upper()} · {alert.truck_id} · {alert.rule} · opened "
        f"{local_time(alert.opened_at, timezone)}"
    )


def localise_failed(rows: Sequence[dict[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """Failed notifications with their failure time in the local time zone."""
    return [{**row, "failed": local_time(row.get("failed"), timezone)} for row in rows]
