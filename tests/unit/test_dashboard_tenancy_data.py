"""Which dashboard pages a user may open and what of the live state it sees, by organisation
and role (serving/tenancy_data.py, pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logistream.events import Alert, Reading
from logistream.live_views import TruckView
from logistream.live_views.records import AlertChange, AlertSummary
from logistream.serving import tenancy_data as td
from logistream.serving.auth import ROLES, AuthError, check_role

TENANT_MENU = ["live", "alerts", "truck", "shipments"]
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CARE = {"KCK 293K": START}


def _open(access: dict[str, str | None]) -> list[str]:
    return [path for path, why in access.items() if why is None]


@pytest.mark.parametrize("role", ROLES)
def test_a_shippers_or_receivers_user_opens_four_pages_whatever_its_role(role: str) -> None:
    for organisation in ("acme", "moh-western"):
        access = td.page_access(role, organisation)
        assert list(access) == list(td.ALL_PAGES)
        assert _open(access) == TENANT_MENU
        for path in set(td.ALL_PAGES) - set(TENANT_MENU):
            assert access[path] is not None
            assert "for the carrier's staff" in str(access[path])
            assert organisation in str(access[path])


def test_an_account_of_no_organisation_is_no_carrier() -> None:
    assert _open(td.page_access("admin", None)) == TENANT_MENU


def test_the_carriers_staff_keep_their_pages_by_role() -> None:
    every = list(td.ALL_PAGES)
    assert _open(td.page_access("admin", "carrier")) == every
    without_admin = [p for p in every if p not in ("users", "unknown-trucks")]
    assert _open(td.page_access("quality_manager", "carrier")) == without_admin
    for role in ("viewer", "dispatcher"):
        access = td.page_access(role, "carrier")
        assert _open(access) == [p for p in without_admin if p != "audit-log"]
        assert "audit trail" in str(access["audit-log"])
        assert "manage users" in str(access["users"])


def test_the_quality_manager_reads_and_acknowledges_creates_or_manages_nothing() -> None:
    assert check_role("quality_manager") == "quality_manager"
    with pytest.raises(AuthError):
        check_role("auditor")
    assert not td.may_acknowledge("quality_manager", "carrier")
    assert td.may_acknowledge("dispatcher", "carrier")
    assert not td.may_acknowledge("dispatcher", "acme")  # tenants read, they do not acknowledge
    assert td.creation_refusal("quality_manager", "carrier", "carrier", "acme") is not None
    assert not td.may_manage_users("quality_manager", "carrier")
    assert td.may_manage_users("admin", "carrier")
    assert not td.may_manage_users("admin", "acme")


def test_who_may_create_a_shipment_for_which_shipper() -> None:
    assert td.creation_refusal("dispatcher", "carrier", "carrier", "acme") is None
    assert td.creation_refusal("dispatcher", "acme", "shipper", "acme") is None
    other = td.creation_refusal("dispatcher", "acme", "shipper", "kemsa")
    assert other is not None
    assert "'acme', not 'kemsa'" in other
    receiver = td.creation_refusal("admin", "moh-western", "receiver", "moh-western")
    assert receiver is not None
    assert "a receiver" in receiver
    assert td.creation_refusal("viewer", "acme", "shipper", "acme") is not None
    assert td.creation_refusal("dispatcher", None, None, "acme") is not None


def _alert(alert_id: str, truck: str, opened: datetime, severity: str = "major") -> Alert:
    at = opened.timestamp()
    return Alert(
        alert_id=alert_id,
        truck_id=truck,
        rule="temp_high",
        severity=severity,
        state="open",
        opened_at=at,
        changed_at=at,
        message="warm",
    )


def _view(truck: str, alerts: list[Alert], status: str) -> TruckView:
    reading = Reading(truck_id=truck, temp=5.0, timestamp=START.timestamp() + 60)
    summaries = tuple(AlertSummary(a.alert_id, a.rule, a.severity, a.state) for a in alerts)
    return TruckView(truck, reading, status, summaries, START.timestamp() + 60)


def test_a_tenant_sees_its_trucks_alerts_from_the_window_on_and_the_carrier_all() -> None:
    before = _alert("old", "KCK 293K", datetime(2026, 12, 7, 11, 0, tzinfo=UTC), "critical")
    within = _alert("new", "KCK 293K", datetime(2026, 12, 7, 12, 30, tzinfo=UTC), "warning")
    other = _alert("theirs", "KBX 123A", datetime(2026, 12, 7, 12, 30, tzinfo=UTC))
    alerts = [before, within, other]
    assert td.visible_alerts(alerts, CARE) == [within]
    assert td.visible_alerts(alerts, None) == alerts
    assert td.visible_alerts(alerts, {}) == []

    changes = [AlertChange(i, a, b"", a.changed_at) for i, a in enumerate(alerts)]
    assert [c.alert.alert_id for c in td.visible_changes(changes, CARE)] == ["new"]
    assert td.visible_changes(changes, None) == changes

    fleet = [_view("KCK 293K", [before, within], "critical"), _view("KBX 123A", [other], "major")]
    shown = td.visible_fleet(fleet, CARE, [within])
    assert [v.truck_id for v in shown] == ["KCK 293K"]
    # The previous customer's critical alert neither shows nor colours the truck.
    assert [a.alert_id for a in shown[0].alerts] == ["new"]
    assert shown[0].status == "warning"
    assert td.visible_fleet(fleet, None, alerts) == fleet
    quiet = td.visible_fleet([_view("KCK 293K", [before], "critical")], CARE, [])
    assert quiet[0].status == "ok"
    offline = td.visible_fleet([_view("KCK 293K", [], "offline")], CARE, [])
    assert offline[0].status == "offline"

    assert td.visible_truck_ids(["KBX 123A", "KCK 293K"], CARE) == ["KCK 293K"]
    assert td.visible_truck_ids(["KBX 123A"], None) == ["KBX 123A"]
