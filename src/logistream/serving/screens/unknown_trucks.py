"""Unknown trucks (admins only): trucks that report but are not in the fleet registry, each to
adopt into the fleet or dismiss as a test or a typo (:mod:`logistream.serving.unknown_trucks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

from logistream.config import resolve_endpoints
from logistream.display_time import show
from logistream.errors import LogiStreamError
from logistream.reads.truck_decisions import latest
from logistream.registry.adoption import Adoption
from logistream.serving import ui, users
from logistream.serving.auth import can_manage_users
from logistream.serving.unknown_trucks import UnknownTruck, adopt, record, unknown

if TYPE_CHECKING:
    import psycopg

RESULT_KEY: Final = "unknown_trucks_result"


def render() -> None:
    st.title("Unknown trucks")
    me = ui.current_user()
    if me is None or not can_manage_users(me.role):
        st.error("Only an admin adopts or dismisses unknown trucks.")
        return
    result = st.session_state.pop(RESULT_KEY, None)
    if result is not None:
        st.success(result)
    try:
        with users.connect(resolve_endpoints(ui.settings()).database_url) as conn:
            found = unknown(ui.live().fleet(), set(ui.registry().truck_index), latest(conn))
            _page(conn, found, me.name)
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
    except LogiStreamError as error:
        st.error(str(error))


def _page(conn: psycopg.Connection[tuple[object, ...]], found: list[UnknownTruck], me: str) -> None:
    timezone = ui.settings().timezone
    if not found:
        st.info("Every reporting truck is in the fleet registry (or was dismissed).")
        return
    st.caption(
        "These trucks report but are not in the fleet registry (fleet.toml). They are watched "
        "with the default cargo profile and raise no sensor_offline. Adopt a truck of yours "
        "so it is watched with its route and cargo, or dismiss a test or a typo."
    )
    st.dataframe(
        [
            {
                "Truck": u.truck_id,
                "Last reading": show(u.view.reading.timestamp, timezone),
                "Cargo sent": u.view.reading.cargo or "—",
                "Status": u.view.status,
                "Decision": u.situation(timezone),
            }
            for u in found
        ],
        hide_index=True,
        width="stretch",
    )
    chosen = st.selectbox("Truck", [u.truck_id for u in found], key="unknown-truck")
    if chosen is None:
        return
    adopt_tab, dismiss_tab = st.tabs(["Adopt into the fleet", "Dismiss"])
    with adopt_tab:
        _adopt_form(conn, chosen, me)
    with dismiss_tab, st.form("dismiss-truck"):
        note = st.text_input("Why (kept with the decision)", placeholder="test device")
        if st.form_submit_button(f"Dismiss {chosen}"):
            record(conn, chosen, "dismissed", me, note)
            st.session_state[RESULT_KEY] = (
                f"{chosen} dismissed: it leaves this list until it reports again."
            )
            st.rerun()


def _adopt_form(conn: psycopg.Connection[tuple[object, ...]], truck_id: str, me: str) -> None:
    registry = ui.registry()
    with st.form("adopt-truck"):
        route = st.selectbox(
            "Route", list(registry.routes), format_func=lambda r: registry.routes[r].label
        )
        cargo = st.selectbox(
            "Cargo", list(registry.cargo), format_func=lambda c: registry.cargo[c].label
        )
        driver = st.text_input("Driver id", placeholder="DRV-012")
        tank = st.number_input("Diesel tank (litres)", 20.0, 2000.0, 400.0, step=10.0)
        if not st.form_submit_button(f"Adopt {truck_id}"):
            return
    adoption = Adoption(truck_id, driver.strip(), str(route), str(cargo), float(tank))
    st.session_state[RESULT_KEY] = adopt(conn, ui.settings().registry_dir, adoption, me)
    st.rerun()
