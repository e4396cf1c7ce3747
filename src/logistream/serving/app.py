"""The LogiStream control room (Streamlit, multipage). Run with ``logistream dashboard``.

Every page has its own URL (``/alerts``, ``/users``...), signed in or not: signed out, each URL
shows the sign-in form and, once signed in, the page it names. A reload keeps the user signed in
(a signed session cookie, :mod:`logistream.serving.session_cookie`). Signed in, every page
carries the pipeline health strip; the live pages read Redis (refreshing in fragments), the
history pages PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import streamlit as st

from logistream.serving import session_cookie, ui
from logistream.serving.screens import (
    admin_users,
    alerts,
    analytics,
    audit_log,
    audits,
    live,
    modes,
    rejected,
    shipments,
    signin,
    truck,
    unknown_trucks,
)
from logistream.serving.tenancy_data import page_access

# (render, title, URL path) of every page, in menu order; the first is the default.
# (Comments, not docstrings: Streamlit's "magic" would show a bare string on every page.)
PAGES: Final[tuple[tuple[Callable[[], None], str, str], ...]] = (
    (live.render, "Live fleet", "live"),
    (alerts.render, "Alerts", "alerts"),
    (truck.render, "Truck", "truck"),
    (shipments.render, "Shipments", "shipments"),
    (modes.render, "Operating modes", "modes"),
    (audits.render, "Audits", "audits"),
    (audit_log.render, "Audit trail", "audit-log"),
    (analytics.render, "Fleet analytics", "analytics"),
    (rejected.render, "Rejected readings", "rejected"),
    (admin_users.render, "Users", "users"),
    (unknown_trucks.render, "Unknown trucks", "unknown-trucks"),
)
# Who may open which page is serving.tenancy_data.page_access's alone: a page this user may
# not open is out of its menu, and its URL says why not (rather than "Page not found").
SIGNIN_PATH: Final = "signin"


def _refused(title: str, why: str) -> Callable[[], None]:
    def page() -> None:
        st.title(title)
        st.info(why)

    return page


def _signed_out() -> None:
    # Every page's URL answers with the sign-in form, so a deep link or a reload of a signed-out
    # tab is not "Page not found"; after sign-in the rerun opens the page the URL names.
    paths = [path for _, _, path in PAGES]
    pages = [st.Page(signin.render, title="Sign in", url_path=SIGNIN_PATH, default=True)]
    pages += [
        st.Page(signin.render, title="Sign in", url_path=path, visibility="hidden")
        for path in paths
    ]
    page = st.navigation(pages)
    page.run()
    session_cookie.sync_cookie()


def main() -> None:
    st.set_page_config(page_title="LogiStream control room", page_icon="🚚", layout="wide")
    user = session_cookie.current_user()
    if user is None:
        _signed_out()
        return
    access = page_access(user.role, user.organisation)
    pages: list[st.Page] = []
    for render, title, path in PAGES:
        why = access[path]
        if why is None:
            pages.append(st.Page(render, title=title, url_path=path, default=not pages))
        else:  # the URL works and says who may use the page
            pages.append(
                st.Page(_refused(title, why), title=title, url_path=path, visibility="hidden")
            )
    # The sign-in page's own URL, once signed in, is the default page (Live fleet: every
    # user may open it).
    home = pages[0]

    def to_home() -> None:
        st.switch_page(home)

    pages.append(st.Page(to_home, title="Sign in", url_path=SIGNIN_PATH, visibility="hidden"))
    page = st.navigation(pages)
    with st.sidebar:
        org = "" if user.organisation == "carrier" else f", {user.organisation}"
        st.caption(f"Signed in as **{user.name}** ({user.role}{org})")
        if st.button("Sign out"):
            session_cookie.end()
            st.rerun()
        session_cookie.sync_cookie()
    ui.health_strip()
    page.run()


main()
