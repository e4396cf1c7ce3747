"""The Shipments pages scoped by organisation, in Streamlit's AppTest over real PostgreSQL and
Redis: a shipper's user lists and opens only its shipments (another's id in the address opens
nothing of it), the carrier's staff see every shipment, an account without an organisation sees
none, with how to set it; the live map's labels are scoped the same way."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from streamlit.testing.v1 import AppTest
from tests.integration.test_api_shipments import DOCUMENT, ID
from tests.integration.test_dashboard_pages import dashboard  # noqa: F401 (a fixture)
from tests.integration.test_tenancy_shipments import OTHER, _acme

from logistream.api.shipment_input import read_shipment
from logistream.config import Settings
from logistream.registry import load_registry
from logistream.serving import users
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User
from logistream.shipments.store import ShipmentStore, new_record

REGISTRY = load_registry()


@pytest.fixture
def two_shippers(dashboard: Settings) -> Settings:  # noqa: F811 (the fixture)
    with psycopg.connect(dashboard.database_url or "", autocommit=True) as conn:
        store = ShipmentStore(conn, REGISTRY)
        for document in (DOCUMENT, _acme()):
            store.create(new_record(read_shipment(document, REGISTRY)), "test")
        users.add_organisation(conn, "acme", "shipper", "Acme Foods")
    return dashboard


def _page(user: User, shipment: str | None = None) -> AppTest:
    script = "from logistream.serving.screens import shipments\nshipments.render()\n"
    page = AppTest.from_string(script, default_timeout=60)
    page.session_state[USER_KEY] = user
    if shipment is not None:
        page.query_params["shipment"] = shipment
    return page.run()


def _listed(page: AppTest) -> list[str]:
    frame = next(d.value for d in page.dataframe if "reference" in d.value.columns)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return sorted(str(r["shipment"]) for r in rows)


def test_a_shippers_user_sees_its_shipments_only(two_shippers: Settings) -> None:
    acme = User("amina", "dispatcher", "acme")
    page = _page(acme)
    assert not page.exception, page.exception
    assert _listed(page) == [OTHER]
    assert page.selectbox(key="open_shipment").options == [f"ACME-77 · {OTHER}"]
    # Another shipper's id in the address opens its own shipment, nothing of the other.
    page = _page(acme, shipment=ID)
    assert not page.exception
    assert page.selectbox(key="open_shipment").value == OTHER
    assert not any(ID in str(h.value) for h in page.header)
    assert any(OTHER in str(h.value) for h in page.header)

    # The carrier's staff see both.
    page = _page(User("ann", "viewer", "carrier"))
    assert _listed(page) == sorted([ID, OTHER])

    # No organisation: nothing, and how to set it.
    page = _page(User("lost", "viewer", None))
    assert not page.dataframe
    assert "your account has no organisation" in page.error[0].value


def test_the_live_maps_labels_are_scoped_too(two_shippers: Settings) -> None:
    script = (
        "import streamlit as st\n"
        "from logistream.serving.screens import shipments\n"
        "st.text(repr(sorted(shipments.truck_labels())))\n"
    )
    for organisation, trucks in (
        ("acme", [_acme()["truck_id"]]),
        ("carrier", sorted([DOCUMENT["truck_id"], _acme()["truck_id"]])),
    ):
        page = AppTest.from_string(script, default_timeout=60)
        page.session_state[USER_KEY] = User("u", "viewer", organisation)
        page.run()
        assert not page.exception, page.exception
        assert page.text[0].value == repr(trucks)
