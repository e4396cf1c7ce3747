"""The LogiStream control room (Streamlit, multipage). Run with ``logistream dashboard``.

Signed out, only the sign-in page exists. Signed in, every page carries the pipeline health
strip; the live pages read Redis (refreshing in fragments), the history pages PostgreSQL.
"""

from __future__ import annotations

import streamlit as st

from logistream.serving import ui
from logistream.serving.auth import can_manage_users
from logistream.serving.screens import admin_users, alerts, analytics, audits, live, signin, truck


def main() -> None:
    st.set_page_config(page_title="LogiStream control room", page_icon="🚚", layout="wide")
    user = ui.current_user()
    if user is None:
        st.navigation([st.Page(signin.render, title="Sign in", url_path="signin")]).run()
        return
    pages = [
        st.Page(live.render, title="Live fleet", url_path="live", default=True),
        st.Page(alerts.render, title="Alerts", url_path="alerts"),
        st.Page(truck.render, title="Truck", url_path="truck"),
        st.Page(audits.render, title="Audits", url_path="audits"),
        st.Page(analytics.render, title="Fleet analytics", url_path="analytics"),
    ]
    if can_manage_users(user.role):
        pages.append(st.Page(admin_users.render, title="Users", url_path="users"))
    page = st.navigation(pages)
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({user.role})")
        if st.button("Sign out"):
            ui.sign_out()
            st.rerun()
    ui.health_strip()
    page.run()


main()
