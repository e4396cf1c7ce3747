"""What each recipient is told, rendered once when the send is planned (pure).

The rendered subject, body, SMS text and webhook payload are stored in the log with the send, so
a resend after a crash is byte-identical and the audit shows exactly what was said.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from logistream.events import Alert
from logistream.geo import haversine_km
from logistream.notify.routing import Target
from logistream.notify.sms_text import sms_text
from logistream.registry.models import Waypoint

NEAR_KM: Final = 25.0
KIND_ALERT: Final = "alert"
KIND_ESCALATION: Final = "escalation"
KIND_WATCHDOG: Final = "watchdog"


def idempotency_key(alert_id: str, state: str, recipient: str, channel: str, level: int) -> str:
    """The same send always has the same key, so a receiver can drop a repeat."""
    raw = f"{alert_id}|{state}|{recipient}|{channel}|{level}".encode()
    return "ls-" + hashlib.sha256(raw).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Notification:
    """One planned send: a row of the ``notifications`` log."""

    key: str
    kind: str
    alert_id: str
    state: str
    level: int
    recipient: str
    recipient_name: str
    channel: str
    address: str
    subject: str
    body: str
    payload: dict[str, Any]
    not_before: float | None = None
    truck_id: str | None = None
    trip_id: str | None = None
    rule: str | None = None
    severity: str | None = None
    alert_opened_at: float | None = None


def place(lat: float | None, lon: float | None, waypoints: Sequence[Waypoint]) -> str:
    """``near Voi`` within 25 km of a waypoint, ``60 km from Voi`` further, else empty."""
    if lat is None or lon is None or not waypoints:
        return ""
    k = math.cos(math.radians(lat)) ** 2
    best = min(waypoints, key=lambda w: (w.lat - lat) ** 2 + k * (w.lon - lon) ** 2)
    d = haversine_km(lat, lon, best.lat, best.lon)
    return f"near {best.name}" if d <= NEAR_KM else f"{d:.0f} km from {best.name}"


def _when(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M %Z")


def _status_word(alert: Alert, kind: str, level: int) -> str:
    if kind == KIND_ESCALATION:
        return f"UNACKED L{level} {alert.severity.upper()}"
    if alert.state == "acknowledged":
        return "ACKED"
    if alert.state == "resolved":
        return "RESOLVED"
    return alert.severity.upper()


def render_alert(
    alert: Alert,
    target: Target,
    *,
    kind: str,
    where: str,
    cargo_label: str | None,
    link: str | None,
    zone: ZoneInfo,
    unacked_min: float | None = None,
) -> Notification:
    """The notification of ``alert``'s change (or escalation) for one target."""
    status = _status_word(alert, kind, target.level)
    cargo = cargo_label or alert.cargo
    subject = f"[LogiStream] {status} {alert.truck_id}"
    subject += f" ({cargo})" if cargo else ""
    subject += f": {alert.rule}"
    lines = [alert.message, ""]
    if kind == KIND_ESCALATION:
        waited = f" for {unacked_min:.0f} min" if unacked_min is not None else ""
        lines.insert(
            0, f"Nobody has acknowledged this alert{waited}: escalation level {target.level}."
        )
    facts = [
        ("Truck", alert.truck_id),
        ("Cargo", cargo),
        ("Alert", f"{alert.rule} ({alert.severity}), {alert.state}"),
        ("Value", f"{alert.value:g}" if alert.value is not None else None),
        ("Limit", f"{alert.threshold:g}" if alert.threshold is not None else None),
        ("Where", where or None),
        ("Opened", _when(alert.opened_at, zone)),
        ("Trip", alert.trip_id),
        ("Acknowledged by", alert.acknowledged_by),
    ]
    lines += [f"{k}: {v}" for k, v in facts if v]
    if link and alert.state == "open":
        lines += ["", f"Acknowledge (opens a confirmation page): {link}"]
    lines += ["", f"Alert id {alert.alert_id}. Sent by LogiStream to {target.person.name}."]
    temp = alert.value if alert.rule.startswith("temp") else None
    sms = sms_text(
        status,
        alert.truck_id,
        cargo=cargo,
        temp_c=temp,
        place=where,
        link=link if alert.state == "open" else None,
    )
    key = idempotency_key(
        alert.alert_id, alert.state, target.person.key, target.channel, target.level
    )
    payload = {
        "idempotency_key": key,
        "kind": kind,
        "level": target.level,
        "recipient": target.person.name,
        "ack_url": link if alert.state == "open" else None,
        "where": where or None,
        "alert": {
            "alert_id": alert.alert_id,
            "truck_id": alert.truck_id,
            "trip_id": alert.trip_id,
            "cargo": alert.cargo,
            "rule": alert.rule,
            "severity": alert.severity,
            "state": alert.state,
            "opened_at": alert.opened_at,
            "changed_at": alert.changed_at,
            "value": alert.value,
            "threshold": alert.threshold,
            "lat": alert.lat,
            "lon": alert.lon,
            "message": alert.message,
            "acknowledged_by": alert.acknowledged_by,
        },
    }
    return Notification(
        key=key,
        kind=kind,
        alert_id=alert.alert_id,
        state=alert.state,
        level=target.level,
        recipient=target.person.key,
        recipient_name=target.person.name,
        channel=target.channel,
        address=target.address,
        subject=subject,
        body=sms if target.channel == "sms" else "\n".join(lines) + "\n",
        payload=payload,
        not_before=target.not_before,
        truck_id=alert.truck_id,
        trip_id=alert.trip_id,
        rule=alert.rule,
        severity=alert.severity,
        alert_opened_at=alert.opened_at,
    )


def render_watchdog(
    component: str, stalled: bool, since: float, detail: str, target: Target, zone: ZoneInfo
) -> Notification:
    """ "The pipeline is stalled" (or "has recovered") for one target."""
    label = {"speed": "speed layer", "bridge": "archive bridge"}.get(component, component)
    alert_id = f"pipeline:{component}:{int(since)}"
    state = "stalled" if stalled else "recovered"
    if stalled:
        subject = f"[LogiStream] PIPELINE STALLED: {label}"
        text = (
            f"The {label} has stopped ({detail}) since {_when(since, zone)}. Alerts are NOT "
            "being raised or archived: a quiet fleet may not be quiet. Check the pipeline."
        )
        sms = f"LOGISTREAM STALLED: {label} {detail}. Alerts not being raised. Check pipeline."
    else:
        subject = f"[LogiStream] pipeline recovered: {label}"
        text = f"The {label} is running again ({detail}); it had stalled at {_when(since, zone)}."
        sms = f"LOGISTREAM OK: {label} running again ({detail})."
    key = idempotency_key(alert_id, state, target.person.key, target.channel, 0)
    return Notification(
        key=key,
        kind=KIND_WATCHDOG,
        alert_id=alert_id,
        state=state,
        level=0,
        recipient=target.person.key,
        recipient_name=target.person.name,
        channel=target.channel,
        address=target.address,
        subject=subject,
        body=sms_text(sms, "")[:160] if target.channel == "sms" else text + "\n",
        payload={
            "idempotency_key": key,
            "kind": KIND_WATCHDOG,
            "component": component,
            "state": state,
            "since": since,
            "detail": detail,
            "recipient": target.person.name,
        },
        not_before=None,
    )
