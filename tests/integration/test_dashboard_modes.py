"""The Operating modes page in Streamlit's AppTest, over real PostgreSQL, Redis and Kafka.

A dispatcher puts a truck in washout through the form: the row is stored (active, set from the
dashboard, its audit line with source ``dashboard``) and the record is on the test's own
``truck_modes`` topic; a viewer sees that mode in the list and no form; on a truck carrying an
active shipment the dispatcher's mode waits, and a carrier admin approves it on the page (then
it is active and on the topic).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from streamlit.testing.v1 import AppTest
from tests.integration.test_dashboard_pages import dashboard  # noqa: F401 (a fixture)
from tests.integration.test_modes_store import _on_topic

import logistream.shipments
from logistream.config import Settings, get_settings, to_env
from logistream.kafka import make_admin
from logistream.modes.store import ModeStore
from logistream.registry import load_registry
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User
from logistream.shipments.parse import load_shipment_file
from logistream.shipments.store import ShipmentStore, new_record

REGISTRY = load_registry()
EXAMPLE = Path(logistream.shipments.__file__).parent / "examples" / "vaccines_kisumu.toml"
SHIPMENT = load_shipment_file(EXAMPLE, REGISTRY)
LOADED = SHIPMENT.truck_id
FREE = next(t.truck_id for t in REGISTRY.trucks if t.truck_id != LOADED)
# The dashboard fixture's users (tests/dashboard_data.py), all of the carrier.
ADMIN = User("ann", "admin")
DISPATCHER = User("dan", "dispatcher")
VIEWER = User("vic", "viewer")


@pytest.fixture
def moding(
    dashboard: Settings,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The dashboard's settings with a truck_modes topic of its own, deleted afterwards."""
    own = dashboard.model_copy(update={"topic_truck_modes": f"truck_modes.{uuid.uuid4().hex[:10]}"})
    for name, value in to_env(own).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield own
    get_settings.cache_clear()
    make_admin(own).delete_topics([own.topic_truck_modes], operation_timeout=30)


def _page(user: User) -> AppTest:
    script = "from logistream.serving.screens import modes\nmodes.render()\n"
    page = AppTest.from_string(script, default_timeout=60)
    page.session_state[USER_KEY] = user
    return page.run()


def _texts(page: AppTest) -> str:
    parts = [m.value for m in page.markdown] + [c.value for c in page.caption]
    parts += [e.value for e in page.error] + [w.value for w in page.warning]
    parts += [s.value for s in page.success] + [i.value for i in page.info]
    return "\n".join(str(p) for p in parts)


def _rows(page: AppTest) -> list[dict[str, Any]]:
    """The rows of the "Now" table (the first one)."""
    rows: list[dict[str, Any]] = page.dataframe[0].value.to_dict("records")
    return rows


def _owner(settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(settings.database_url or "", autocommit=True)


def _set(page: AppTest, truck: str, kind: str, reason: str) -> AppTest:
    page.selectbox(key="mode_truck").set_value(truck)
    page.selectbox(key="mode_kind").set_value(kind)
    page.text_input(key="mode_reason").input(reason)
    return page.button(key="mode_set").click().run()


def test_a_dispatcher_sets_a_washout_and_a_viewer_sees_it_without_forms(
    moding: Settings,
) -> None:
    page = _page(DISPATCHER)
    assert not page.exception
    page = _set(page, FREE, "washout", "weekly wash at the depot")
    assert not page.exception
    assert not page.error, _texts(page)
    assert f"{FREE} in washout" in _texts(page)

    with _owner(moding) as conn:
        found = ModeStore(conn, REGISTRY).list(truck=FREE)
        audit = conn.execute(
            "SELECT action, actor, source FROM audit_log WHERE subject_kind = 'mode'"
        ).fetchall()
    assert [(m.kind, m.status, m.set_by, m.set_source, m.reason) for m in found] == [
        ("washout", "active", "dan", "dashboard", "weekly wash at the depot")
    ]
    assert audit == [("set_mode", "dan", "dashboard")]
    on_topic = _on_topic(moding)[FREE]
    assert [(r.mode_id, r.kind, r.set_by) for r in on_topic] == [
        (found[0].mode_id, "washout", "dan")
    ]

    seen = _page(VIEWER)
    assert not seen.exception
    assert [(r["Truck"], r["Kind"], r["Status"], r["Set by"]) for r in _rows(seen)] == [
        (FREE, "washout", "in force", "dan (dashboard)")
    ]
    keys = {b.key for b in seen.button}
    assert not keys & {"mode_set", "mode_end", "mode_approve", "mode_refuse"}, keys
    assert not [t for t in seen.text_input if t.key in ("mode_reason", "mode_until")]

    # The dispatcher ends it early, with a reason.
    page = _page(DISPATCHER)
    page.selectbox(key="mode_end_truck").set_value(FREE)
    page.text_input(key="mode_end_reason").input("wash done")
    page = page.button(key="mode_end").click().run()
    assert not page.error, _texts(page)
    with _owner(moding) as conn:
        ended = ModeStore(conn, REGISTRY).get(found[0].mode_id)
    assert ended is not None
    assert (ended.status, ended.ended_by, ended.end_reason) == ("ended", "dan", "wash done")
    assert _on_topic(moding)[FREE][-1].ended_at is not None


def test_an_admin_approves_a_mode_waiting_on_a_loaded_truck(moding: Settings) -> None:
    with _owner(moding) as conn:
        ShipmentStore(conn, REGISTRY).create(new_record(SHIPMENT), "dan")
    page = _set(_page(DISPATCHER), LOADED, "maintenance", "reefer unit alarm")
    assert not page.error, _texts(page)
    assert "a carrier admin approves it first" in _texts(page)
    assert "mode_approve" not in {b.key for b in page.button}  # a dispatcher does not approve
    with _owner(moding) as conn:
        (pending,) = ModeStore(conn, REGISTRY).list(truck=LOADED)
    assert pending.status == "pending_approval"

    page = _page(ADMIN)
    assert [r["Status"] for r in _rows(page)] == ["waiting for approval"]
    page.selectbox(key="mode_pending").set_value(pending.mode_id)
    page = page.button(key="mode_approve").click().run()
    assert not page.error, _texts(page)
    assert f"Mode {pending.mode_id} approved" in _texts(page)
    with _owner(moding) as conn:
        approved = ModeStore(conn, REGISTRY).get(pending.mode_id)
        audit = conn.execute(
            "SELECT action, actor, source FROM audit_log WHERE subject_id = %s ORDER BY seq",
            (pending.mode_id,),
        ).fetchall()
    assert approved is not None
    assert (approved.status, approved.approved_by) == ("active", "ann")
    assert audit == [("set_mode", "dan", "dashboard"), ("approve_mode", "ann", "dashboard")]
    assert [(r.mode_id, r.approved_by) for r in _on_topic(moding)[LOADED]] == [
        (pending.mode_id, "ann")
    ]
