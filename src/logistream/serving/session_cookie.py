"""The signed-in user across reloads: the Streamlit side of :mod:`logistream.serving.session`.

Within one connection the user lives in ``st.session_state``. A reload opens a new connection
with an empty state; the browser then sends the session cookie with its opening request, which
Streamlit shows as ``st.context.cookies``, and a genuine, unexpired, not signed-out token for an
account that still exists restores the user (with the account's current role). Streamlit has no
way to set a cookie from the server, so a one-line script (``st.html`` with JavaScript) writes it
after sign-in and clears it after sign-out.
"""

from __future__ import annotations

import time
from typing import Final

import streamlit as st

from logistream.config import resolve_endpoints
from logistream.errors import LogiStreamError
from logistream.serving import session, ui, users
from logistream.serving.users import User

CLAIMS_KEY: Final = "session_token"
"""``(token, claims)`` of the signed-in user's session."""
STALE_KEY: Final = "session_cookie_stale"
"""Set when this connection's cookie must not sign anyone in again (signed out, or refused)."""


def start(user: User) -> None:
    """Sign ``user`` in: a new session, whose cookie the next run writes."""
    settings = ui.settings()
    token, claims = session.make_token(
        session.session_secret(settings),
        user.name,
        time.time() + session.session_lifetime_s(),
    )
    st.session_state[ui.USER_KEY] = user
    st.session_state[CLAIMS_KEY] = (token, claims)
    st.session_state.pop(STALE_KEY, None)


def end() -> None:
    """Sign out: the session is ended on the server, and its cookie cleared in the browser."""
    held = st.session_state.pop(CLAIMS_KEY, None)
    if held is not None:
        session.EndedSessions.of(ui.settings()).end(held[1])
    ui.sign_out()
    st.session_state[STALE_KEY] = True


def _held() -> tuple[str, session.SessionClaims] | None:
    held = st.session_state.get(CLAIMS_KEY)
    return held if isinstance(held, tuple) else None


def _restore(token: str) -> User | None:
    settings = ui.settings()
    try:
        claims = session.read_token(session.session_secret(settings), token, time.time())
    except session.SessionError:
        st.session_state[STALE_KEY] = True
        return None
    if session.EndedSessions.of(settings).is_ended(claims):
        st.session_state[STALE_KEY] = True
        return None
    try:
        with users.connect(resolve_endpoints(settings).database_url) as conn:
            accounts = users.list_users(conn)
    except LogiStreamError:
        return None  # the archive is down: the sign-in form says so; the next run tries again
    user = next((account for account in accounts if account.name == claims.name), None)
    if user is None:  # the account was removed since
        st.session_state[STALE_KEY] = True
        return None
    st.session_state[ui.USER_KEY] = user
    st.session_state[CLAIMS_KEY] = (token, claims)
    return user


def current_user() -> User | None:
    """The signed-in user: this connection's, else the one the browser's cookie restores."""
    user = ui.current_user()
    held = _held()
    if user is not None:
        if held is None or held[1].expires_at > time.time():
            return user
        end()  # the session's time is up, even in a tab that was never reloaded
        return None
    if st.session_state.get(STALE_KEY):
        return None
    token = st.context.cookies.get(session.COOKIE)
    # A string only: outside a browser (AppTest) the cookies are a stand-in object.
    return _restore(token) if isinstance(token, str) and token else None


def sync_cookie() -> None:
    """Write the session's cookie (signed in) or clear a stale one (signed out); call each run."""
    held = _held()
    if held is not None:
        token, claims = held
        script = session.set_cookie_script(token, claims.expires_at)
    elif st.session_state.get(STALE_KEY):
        script = session.clear_cookie_script()
    else:
        return
    st.html(script, unsafe_allow_javascript=True, width="content")
