"""Sign in: a name and password checked against the ``users`` table."""

from __future__ import annotations

import streamlit as st

from logistream.config import resolve_endpoints
from logistream.errors import LogiStreamError
from logistream.serving import session_cookie, ui, users


def render() -> None:
    st.title("LogiStream control room")
    st.caption("Sign in to see the fleet. Accounts: `logistream users add NAME --role ROLE`.")
    with st.form("sign-in"):
        name = st.text_input("Name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    try:
        with users.connect(resolve_endpoints(ui.settings()).database_url) as conn:
            user = users.authenticate(conn, name.strip(), password)
    except LogiStreamError as error:
        st.error(str(error))
        return
    if user is None:
        st.error("Wrong name or password.")
        return
    session_cookie.start(user)
    st.rerun()
