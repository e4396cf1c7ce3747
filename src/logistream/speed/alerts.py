"""Alert lifecycle: open -> acknowledged -> resolved (or open -> resolved), at most one per rule
and probe.

An alert's id is derived from the data (truck, rule, and the reading that opened it, whose
event id names its probe), so processing the same readings again, after a crash or on another
process, gives the same alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from logistream.events import Alert, AlertCommand, Reading, Severity
from logistream.registry import Waypoint
from logistream.speed import messages
from logistream.speed.rules.base import Clear, Raise, Verdict

ALERT_NAMESPACE: Final = uuid.UUID("0d7c3f2e-5b1a-5c84-9e27-4a6f1b8d2c90")


def alert_id_for(truck_id: str, rule: str, opening_event_id: str) -> str:
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{truck_id}|{rule}|{opening_event_id}"))


def alert_key(rule: str, probe_id: str | None) -> str:
    """A truck's alerts are keyed by rule, and a named probe's cargo-air alerts by rule and
    probe, so each probe has its own (a single probe's keys stay the rule names)."""
    return rule if probe_id is None else f"{rule}@{probe_id}"


def of_probe(alerts: Mapping[str, Alert], probe_id: str) -> dict[str, Alert]:
    """A named probe's alerts keyed by rule alone, as the cargo-air rules see their own."""
    return {a.rule: a for a in alerts.values() if a.probe_id == probe_id}


def with_probe(
    alerts: Mapping[str, Alert], probe_id: str, probe_alerts: Mapping[str, Alert]
) -> dict[str, Alert]:
    """``alerts`` with the named probe's alerts replaced by ``probe_alerts`` (keyed by rule)."""
    kept = {k: a for k, a in alerts.items() if a.probe_id != probe_id}
    kept.update((alert_key(a.rule, probe_id), a) for a in probe_alerts.values())
    return kept


@dataclass(frozen=True, slots=True)
class Where:
    """The reading an alert opens on, and the places to name in its message."""

    reading: Reading
    waypoints: Sequence[Waypoint] = ()
    probe_id: str | None = None
    """The probe the alert is about (a named probe's cargo-air rules); None: the truck."""

    @property
    def who(self) -> str:
        return messages.who(self.reading.truck_id, self.reading.cargo, self.probe_id)

    @property
    def near(self) -> str:
        return messages.place(self.reading.lat, self.reading.lon, self.waypoints)


def apply_verdicts(
    alerts: Mapping[str, Alert],
    verdicts: Iterable[Verdict],
    at: Where,
    severity: Mapping[str, Severity],
) -> tuple[dict[str, Alert], list[Alert]]:
    """The alerts after the verdicts, and the changes made (in order). ``alerts`` is not changed."""
    current = dict(alerts)
    changes: list[Alert] = []
    for verdict in verdicts:
        existing = current.get(verdict.rule)
        if isinstance(verdict, Raise):
            if existing is not None:
                continue
            r = at.reading
            alert = Alert(
                alert_id=alert_id_for(r.truck_id, verdict.rule, verdict.event_id),
                truck_id=r.truck_id,
                rule=verdict.rule,
                severity=verdict.severity or severity.get(verdict.rule, "major"),
                state="open",
                opened_at=verdict.at,
                changed_at=verdict.at,
                message=messages.opened(at.who, verdict.what, at.near, verdict.detail),
                trip_id=r.trip_id,
                cargo=r.cargo,
                value=verdict.value,
                threshold=verdict.threshold,
                lat=r.lat,
                lon=r.lon,
                probe_id=at.probe_id,
            )
            current[verdict.rule] = alert
            changes.append(alert)
        elif isinstance(verdict, Clear) and existing is not None:
            del current[verdict.rule]
            changes.append(
                msgspec.structs.replace(
                    existing,
                    state="resolved",
                    changed_at=verdict.at,
                    resolved_at=verdict.at,
                    message=messages.resolved(at.who, verdict.what),
                )
            )
    return current, changes


def acknowledge(
    alerts: Mapping[str, Alert], command: AlertCommand
) -> tuple[dict[str, Alert], Alert | None]:
    """Apply an acknowledgement; ``None`` when no open alert has its id (already acked: no-op)."""
    for rule, alert in alerts.items():
        if alert.alert_id != command.alert_id:
            continue
        if alert.state != "open":
            return dict(alerts), None
        acked = msgspec.structs.replace(
            alert,
            state="acknowledged",
            changed_at=command.issued_at,
            acknowledged_by=command.by,
            ack_note=command.note or None,
        )
        return {**alerts, rule: acked}, acked
    return dict(alerts), None
