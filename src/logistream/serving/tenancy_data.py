"""What a dashboard user's organisation lets it open and see (issue 18), without Streamlit or
servers: which pages it may open (:func:`page_access`), and the live state cut down to the
trucks in its care (:func:`visible_fleet`, :func:`visible_alerts`, :func:`visible_changes`).

The carrier's staff (organisation ``carrier``) see what they saw before organisations; their
pages depend on the role alone (admins manage users and unknown trucks; admins and quality
managers read the audit trail). A shipper's or receiver's user (a *tenant*) gets four pages:
Live fleet, Alerts and Truck, each showing only the trucks in its care, and Shipments (scoped by
PostgreSQL's row-level security); every other page's URL answers that it is for the carrier's
staff. An account of no organisation cannot sign in (``serving.users``); should one reach the
pages it is treated as a tenant of nothing (it sees no truck): fail closed.

"In its care" (choices where the issue is silent): a truck is in a tenant's care while one of the
organisation's active shipments (it is their shipper or receiver) names it, from that shipment's
creation (``reads.tenant_trucks.trucks_in_care``: truck -> window start). Of such a truck the
tenant sees the live view, the open alerts opened at or after the window start (an alert opened
before is the previous customer's: not shown, nor counted in the truck's status), and the recent
alert changes of those alerts. Tenants read alerts; only the carrier's dispatchers and admins
acknowledge them (as the API: a tenant token's acknowledgement is refused).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from logistream.events import Alert
from logistream.live_views import TruckView
from logistream.live_views.records import AlertChange
from logistream.reads.tenant_trucks import in_care, status_for
from logistream.serving.audit_log_data import REFUSAL as AUDIT_TRAIL_REFUSAL
from logistream.serving.audit_log_data import can_read_audit_trail
from logistream.serving.auth import can_acknowledge, can_manage_users

CARRIER: Final = "carrier"
"""The carrier's organisation id (migration 0023)."""

LIVE, ALERTS, TRUCK, SHIPMENTS = "live", "alerts", "truck", "shipments"
MODES, AUDITS, AUDIT_LOG, ANALYTICS, REJECTED = (
    "modes",
    "audits",
    "audit-log",
    "analytics",
    "rejected",
)
USERS, UNKNOWN_TRUCKS = "users", "unknown-trucks"
ALL_PAGES: Final = (
    LIVE, ALERTS, TRUCK, SHIPMENTS, MODES, AUDITS, AUDIT_LOG, ANALYTICS, REJECTED, USERS,
    UNKNOWN_TRUCKS,
)  # fmt: skip
"""Every page's URL path, in menu order."""
TENANT_PAGES: Final = frozenset({LIVE, ALERTS, TRUCK, SHIPMENTS})
"""The pages a shipper's or receiver's user opens."""
ADMIN_PAGES: Final = frozenset({USERS, UNKNOWN_TRUCKS})

CARRIER_ONLY: Final = (
    "This page is for the carrier's staff. Your account belongs to {org}: it sees the trucks "
    "in its care, their alerts, and its shipments."
)
ADMINS_ONLY: Final = {
    USERS: "Only administrators manage users; ask one to add or change accounts.",
    UNKNOWN_TRUCKS: "Only administrators adopt or dismiss unknown trucks; ask one.",
}

NO_TRUCK_IN_CARE: Final = "No truck carries a shipment of your organisation now."


def is_carrier_staff(organisation: str | None) -> bool:
    """Whether a dashboard account of ``organisation`` sees the carrier's whole fleet (an
    account of none does not: unlike an API token's null organisation, it is no one's)."""
    return organisation == CARRIER


def page_access(role: str, organisation: str | None) -> dict[str, str | None]:
    """Each page's URL path -> None when this user may open it, else the one line its URL
    answers instead (the page is then out of the menu)."""
    if not is_carrier_staff(organisation):
        refusal = CARRIER_ONLY.format(org=organisation or "no organisation")
        return {path: None if path in TENANT_PAGES else refusal for path in ALL_PAGES}
    access: dict[str, str | None] = dict.fromkeys(ALL_PAGES)
    if not can_read_audit_trail(role):
        access[AUDIT_LOG] = AUDIT_TRAIL_REFUSAL
    if not can_manage_users(role):
        for path in ADMIN_PAGES:
            access[path] = ADMINS_ONLY[path]
    return access


def may_acknowledge(role: str, organisation: str | None) -> bool:
    """The carrier's dispatchers and admins acknowledge; tenants and viewers read."""
    return is_carrier_staff(organisation) and can_acknowledge(role)


def may_manage_users(role: str, organisation: str | None) -> bool:
    """The carrier's admins manage accounts (a shipper's "admin" manages none)."""
    return is_carrier_staff(organisation) and can_manage_users(role)


def creation_refusal(
    role: str, organisation: str | None, organisation_kind: str | None, shipper_id: str
) -> str | None:
    """Why this user may not create a shipment whose shipper is ``shipper_id`` (None: it may).
    The carrier's dispatchers and admins create any; a shipper's dispatcher or admin only its
    own organisation's (as the API's 403 ``not_shipper``); a receiver's user none."""
    if role not in ("dispatcher", "admin"):
        return "Only a dispatcher or an admin creates shipments."
    if is_carrier_staff(organisation):
        return None
    if organisation is None:
        return "Your account has no organisation, so it creates no shipment."
    if organisation_kind != "shipper":
        return (
            f"Your account belongs to {organisation}, a receiver: shipments are created by "
            "their shipper or the carrier."
        )
    if shipper_id != organisation:
        return (
            f"Your account acts for {organisation}: it creates shipments whose shipper.id is "
            f"{organisation!r}, not {shipper_id!r}."
        )
    return None


def _visible_alert(alert: Alert, care: Mapping[str, datetime]) -> bool:
    return in_care(care, alert.truck_id, alert.opened_at)


def visible_alerts(alerts: Iterable[Alert], care: Mapping[str, datetime] | None) -> list[Alert]:
    """The alerts a user sees: all for the carrier (``care`` None), else those of trucks in its
    care opened within the window."""
    if care is None:
        return list(alerts)
    return [a for a in alerts if _visible_alert(a, care)]


def visible_changes(
    changes: Iterable[AlertChange], care: Mapping[str, datetime] | None
) -> list[AlertChange]:
    """Recent alert changes, of the alerts :func:`visible_alerts` would show."""
    if care is None:
        return list(changes)
    return [c for c in changes if _visible_alert(c.alert, care)]


def visible_fleet(
    fleet: Iterable[TruckView], care: Mapping[str, datetime] | None, open_alerts: Iterable[Alert]
) -> list[TruckView]:
    """The trucks a user sees: all for the carrier, else those in its care, each with only the
    alerts it may see (``open_alerts``: those :func:`visible_alerts` kept) and its status
    recomputed from them (a previous customer's alert does not colour the truck)."""
    if care is None:
        return list(fleet)
    kept_ids = {a.alert_id for a in open_alerts}
    shown = []
    for view in fleet:
        if view.truck_id not in care:
            continue
        alerts = tuple(a for a in view.alerts if a.alert_id in kept_ids)
        live = (a.severity for a in alerts if a.state != "resolved")
        status = status_for(view.status, live)
        shown.append(dataclasses.replace(view, alerts=alerts, status=status))
    return shown


def visible_truck_ids(ids: Iterable[str], care: Mapping[str, datetime] | None) -> list[str]:
    return list(ids) if care is None else [t for t in ids if t in care]
