"""The dashboard by organisation (issue 18), the whole app in Streamlit's AppTest over real
PostgreSQL and Redis: a shipper's and a receiver's user get four pages (Live fleet, Alerts, Truck,
Shipments), each carrier-only page's URL says it is for the carrier's staff, and the live pages
show the truck carrying their shipment and its alerts from the shipment's start, never another
shipper's truck; a quality manager reads the audit trail; the carrier's admin sees everything as
before. The Users page sets an account's organisation, on the audit trail.

Two shipments (live views: ``tests/dashboard_data``): acme -> dairy-rx on the hot truck (booked
an hour ago: its major alert, opened 10 min ago, is acme's), kemsa -> moh-western on the cool
truck (booked 30 s ago: its speeding alert, opened a minute ago, is the previous customer's).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_api_shipments import DOCUMENT, EXAMPLE
from tests.integration.test_dashboard_pages import APP, dashboard

from logistream.api.shipment_input import read_shipment
from logistream.config import Settings
from logistream.registry import load_registry
from logistream.serving import users
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User
from logistream.shipments.store import ShipmentStore, new_record

__all__ = ["dashboard"]  # a fixture, used by name
REGISTRY = load_registry()
ACME = User("amina", "dispatcher", "acme")
DAIRY = User("rose", "viewer", "dairy-rx")
KEMSA = User("kim", "dispatcher", "kemsa")
QUALITY = User("quinn", "quality_manager", "carrier")
ADMIN = User("ann", "admin", "carrier")
TENANT_MENU = ["Live fleet", "Alerts", "Truck", "Shipments"]
CARRIER_ONLY = {
    "modes": "Operating modes",
    "audits": "Audits",
    "audit-log": "Audit trail",
    "analytics": "Fleet analytics",
    "rejected": "Rejected readings",
    "users": "Users",
    "unknown-trucks": "Unknown trucks",
}
ALL_TITLES = TENANT_MENU + list(CARRIER_ONLY.values())
# The app as the dashboard runs it, with st.navigation watched: the menu (the pages not
# hidden) goes to the session state, and the page named by "open" is switched to, as a visit
# to its URL opens it.
SCRIPT = f"""
import runpy
import streamlit as st

real = st.navigation

def watched(pages, **kwargs):
    st.session_state["menu"] = [p.title for p in pages if p.visibility != "hidden"]
    chosen = real(pages, **kwargs)
    wanted = st.session_state.pop("open", None)
    for page in pages:
        if wanted is not None and page.url_path == wanted:
            st.switch_page(page)  # reruns on that page, as a visit to its URL does
    return chosen

st.navigation = watched
try:
    runpy.run_path({str(APP)!r})
finally:
    st.navigation = real
"""


def _document(shipment_id: str, truck: str, shipper: str, receiver: str) -> dict[str, Any]:
    return {
        **{key: value for key, value in DOCUMENT.items() if key != "probes"},
        "shipment_id": shipment_id,
        "reference": shipment_id,
        "truck_id": truck,
        "shipper": {"id": shipper, "name": shipper.title()},
        "receiver": {"id": receiver, "name": receiver.title()},
    }


@pytest.fixture
def booked(dashboard: Settings) -> Settings:
    assert dashboard.database_url
    with psycopg.connect(dashboard.database_url, autocommit=True) as conn:
        for org, kind in (
            ("acme", "shipper"),
            ("dairy-rx", "receiver"),
            ("kemsa", "shipper"),
            ("moh-western", "receiver"),
        ):
            users.add_organisation(conn, org, kind)
        users.add_user(conn, QUALITY.name, QUALITY.role, "quinn-password-1")
        store = ShipmentStore(conn, REGISTRY)
        for document, booked_s in (
            (_document("SHP-ACME-1", data.HOT_TRUCK, "acme", "dairy-rx"), 3600),
            (_document("SHP-KEMSA-2", data.COOL_TRUCK, "kemsa", "moh-western"), 30),
        ):
            store.create(new_record(read_shipment(document, REGISTRY)), "test")
            conn.execute(
                "UPDATE shipments SET created_at = now() - make_interval(secs => %s) "
                "WHERE shipment_id = %s",
                [booked_s, document["shipment_id"]],
            )
    return dashboard


def _app(user: User, path: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    page = AppTest.from_string(SCRIPT, default_timeout=60)
    page.session_state[USER_KEY] = user
    if path is not None:
        page.session_state["open"] = path
    for name, value in (query or {}).items():
        page.query_params[name] = value
    page.run()
    assert not page.exception, page.exception
    return page


def _column(page: AppTest, column: str) -> list[Any]:
    frame = next(d.value for d in page.dataframe if column in d.value.columns)
    return list(frame[column])


def _carrier_only_urls_refuse(user: User) -> None:
    for path, title in CARRIER_ONLY.items():
        page = _app(user, path)
        assert [t.value for t in page.title] == [title], path
        [info] = [i.value for i in page.info]
        assert "This page is for the carrier's staff" in info, path
        assert user.organisation is not None
        assert user.organisation in info
        assert not page.dataframe, path


def test_a_shippers_user_sees_its_truck_and_nothing_of_another_shippers(booked: Settings) -> None:
    page = _app(ACME)
    assert page.session_state["menu"] == TENANT_MENU
    assert [t.value for t in page.title] == ["Live fleet"]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Trucks on the road"] == "1"
    assert metrics["Open major"] == "1"
    assert metrics["Open warning"] == "0"  # the other shipper's truck's alert
    assert _column(page, "truck") == [data.HOT_TRUCK]
    _carrier_only_urls_refuse(ACME)

    page = _app(ACME, "alerts")
    assert _column(page, "alert id") == ["a-hot-1"]
    assert data.COOL_TRUCK not in str([d.value for d in page.dataframe])
    assert "The carrier's dispatchers acknowledge alerts" in str([c.value for c in page.caption])
    assert not [b for b in page.button if "Acknowledge" in str(b.label)]

    page = _app(ACME, "truck", {"truck": data.COOL_TRUCK})
    [picker] = page.selectbox
    assert picker.options == [data.HOT_TRUCK]  # the other's truck in the address opens its own
    assert picker.value == data.HOT_TRUCK
    assert page.query_params["truck"] == data.HOT_TRUCK
    # Its archived readings, read under the row-level security of its shipment's window.
    assert not page.warning
    assert "No archived readings in the last hours." not in [c.value for c in page.caption]


def test_a_receivers_user_likewise(booked: Settings) -> None:
    page = _app(DAIRY)
    assert page.session_state["menu"] == TENANT_MENU
    assert _column(page, "truck") == [data.HOT_TRUCK]
    _carrier_only_urls_refuse(DAIRY)
    page = _app(DAIRY, "truck")
    assert page.selectbox[0].options == [data.HOT_TRUCK]


def test_a_truck_booked_after_an_alert_opened_shows_without_it(booked: Settings) -> None:
    page = _app(KEMSA)
    assert _column(page, "truck") == [data.COOL_TRUCK]
    assert _column(page, "status") == ["ok"]  # the speeding alert is the previous customer's
    assert {m.label: m.value for m in page.metric}["Open warning"] == "0"
    page = _app(KEMSA, "alerts")
    assert "No open alerts." in [c.value for c in page.caption]


def test_a_quality_manager_reads_the_audit_trail_and_manages_no_one(booked: Settings) -> None:
    page = _app(QUALITY)
    assert page.session_state["menu"] == ALL_TITLES[:-2]  # not Users, Unknown trucks
    page = _app(QUALITY, "audit-log")
    assert [t.value for t in page.title] == ["Audit trail"]
    assert not page.info
    assert page.dataframe, "the trail's rows"
    page = _app(QUALITY, "users")
    assert "Only administrators manage users" in page.info[0].value
    page = _app(QUALITY, "alerts")
    assert not [b for b in page.button if "Acknowledge" in str(b.label)]


def test_the_carriers_admin_sees_everything_as_before(booked: Settings) -> None:
    page = _app(ADMIN)
    assert page.session_state["menu"] == ALL_TITLES
    assert _column(page, "truck") == [data.HOT_TRUCK, data.COOL_TRUCK]
    page = _app(ADMIN, "alerts")
    assert _column(page, "alert id") == ["a-hot-1", "a-warn-1"]
    page = _app(ADMIN, "truck")
    assert sorted(page.selectbox[0].options) == sorted([data.HOT_TRUCK, data.COOL_TRUCK])


def test_the_users_page_sets_an_organisation_on_the_audit_trail(booked: Settings) -> None:
    page = _app(ADMIN, "users")
    assert (
        dict(zip(_column(page, "name"), _column(page, "organisation"), strict=True))["dan"]
        == "The carrier (carrier)"
    )
    page.selectbox(key="change-who").set_value("dan").run()
    page.selectbox(key="change-organisation").set_value("acme")
    page.button[1].click().run()
    assert [s.value for s in page.success] == ["dan: organisation now acme."]

    page = _app(ADMIN, "users")
    page.text_input[0].input("rosa")
    page.selectbox[0].set_value("viewer")
    page.text_input[1].input("rosa-password-1")
    page.radio(key="add-organisation").set_value("dairy-rx")
    page.button[0].click().run()
    assert [s.value for s in page.success] == ["rosa added as viewer of dairy-rx."]

    assert booked.database_url
    with users.connect(booked.database_url) as conn:
        accounts = {u.name: u.organisation for u in users.list_users(conn)}
        rows = conn.execute(
            "SELECT actor, source, action, subject_id, before, after FROM audit_log "
            "WHERE action IN ('set_organisation', 'add_user') AND subject_id IN ('dan', 'rosa') "
            "ORDER BY seq"
        ).fetchall()
    assert accounts["dan"] == "acme"
    assert accounts["rosa"] == "dairy-rx"
    assert rows[-2:] == [
        ("ann", "dashboard", "set_organisation", "dan", {"organisation": "carrier"},
         {"organisation": "acme"}),
        ("ann", "dashboard", "add_user", "rosa", None,
         {"role": "viewer", "organisation": "dairy-rx"}),
    ]  # fmt: skip


def test_a_shipper_creates_only_its_own_shipments_and_a_receiver_none(booked: Settings) -> None:
    # The example file's shipper is kemsa (on another truck, free).
    script = "from logistream.serving.screens import shipments\nshipments.render()\n"
    for user, refusal in (
        (ACME, "Your account acts for acme: it creates shipments whose shipper.id is 'acme', "
               "not 'kemsa'."),
        (User("rex", "dispatcher", "dairy-rx"), "Your account belongs to dairy-rx, a receiver: "
         "shipments are created by their shipper or the carrier."),
    ):  # fmt: skip
        page = AppTest.from_string(script, default_timeout=60)
        page.session_state[USER_KEY] = user
        page.run()
        page.file_uploader(key="shipment_file").upload(EXAMPLE.name, EXAMPLE.read_bytes())
        page.button(key="shipment_create").click().run()
        assert not page.exception
        assert [e.value for e in page.error] == [refusal]
    assert booked.database_url
    with psycopg.connect(booked.database_url) as conn:
        count = conn.execute("SELECT count(*) FROM shipments").fetchone()
    assert count == (2,), "nothing stored"


def test_a_shipments_status_counts_only_its_own_alerts(booked: Settings) -> None:
    # The cool truck's speeding alert opened before kemsa's shipment was booked: the carrier
    # sees "alert open" on the shipment, kemsa's user "on time".
    for user, status in ((ADMIN, "alert open"), (KEMSA, "on time")):
        page = _app(user, "shipments", {"shipment": "SHP-KEMSA-2"})
        rows = dict(zip(_column(page, "shipment"), _column(page, "status"), strict=True))
        assert rows["SHP-KEMSA-2"] == status, user
        metrics = {m.label: m.value for m in page.metric}
        assert metrics["Status"] == status, user
