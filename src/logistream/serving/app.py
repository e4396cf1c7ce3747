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
from logistream.serving.audit_log_data import can_read_audit_trail
from logistream.serving.auth import can_manage_users
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

# (render, title, URL path) of the pages every signed-in user sees; the first is the default.
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
)
# In PAGES, but out of the menu of those who may not read it (its URL says why not).
AUDIT_LOG_PATH: Final = "audit-log"
USERS_PAGE: Final = ("Users", "users")
UNKNOWN_TRUCKS_PAGE: Final = ("Unknown trucks", "unknown-trucks")
# What a non-admin who opens an admin page's URL is told.
ADMINS_ONLY: Final = {
    USERS_PAGE[1]: "Only administrators manage users; ask one to add or change accounts.",
    UNKNOWN_TRUCKS_PAGE[1]: "Only administrators adopt or dismiss unknown trucks; ask one.",
}
SIGNIN_PATH: Final = "signin"


def _admins_only(title: str, why: str) -> Callable[[], None]:
    def page() -> None:
        st.title(title)
        st.info(why)

    return page


def _signed_out() -> None:
    # Every page's URL answers with the sign-in form, so a deep link or a reload of a signed-out
    # tab is not "Page not found"; after sign-in the rerun opens the page the URL names.
    paths = [path for _, _, path in PAGES] + [USERS_PAGE[1], UNKNOWN_TRUCKS_PAGE[1]]
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
    hidden = set() if can_read_audit_trail(user.role) else {AUDIT_LOG_PATH}
    pages = [
        st.Page(
            render,
            title=title,
            url_path=path,
            default=index == 0,
            visibility="hidden" if path in hidden else "visible",
        )
        for index, (render, title, path) in enumerate(PAGES)
    ]
    for render, (title, path) in (
        (admin_users.render, USERS_PAGE),
        (unknown_trucks.render, UNKNOWN_TRUCKS_PAGE),
    ):
        if can_manage_users(user.role):
            pages.append(st.Page(render, title=title, url_path=path))
        else:  # the URL works and says who may use the page
            pages.append(
                st.Page(
                    _admins_only(title, ADMINS_ONLY[path]),
                    title=title,
                    url_path=path,
                    visibility="hidden",
                )
            )
    # The sign-in page's own URL, once signed in, is the default page.
    home = pages[0]

    def to_home() -> None:
        st.switch_page(home)

    pages.append(st.Page(to_home, title="Sign in", url_path=SIGNIN_PATH, visibility="hidden"))
    page = st.navigation(pages)
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({user.role})")
        if st.button("Sign out"):
            session_cookie.end()
            st.rerun()
        session_cookie.sync_cookie()
    ui.health_strip()
    page.run()


main()
