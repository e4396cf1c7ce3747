"""Users (admins only): list accounts, add one, change a role, reset a password, remove one;
each change is in the audit trail as the signed-in admin's, from the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from logistream.audit.trail import Actor
from logistream.config import resolve_endpoints
from logistream.errors import LogiStreamError
from logistream.serving import ui, users
from logistream.serving.auth import ROLES, can_manage_users

if TYPE_CHECKING:
    import psycopg


def render() -> None:
    st.title("Users")
    me = ui.current_user()
    if me is None or not can_manage_users(me.role):
        st.error("Only an admin manages users.")
        return
    try:
        with users.connect(resolve_endpoints(ui.settings()).database_url) as conn:
            accounts = users.list_users(conn)
            st.dataframe([{"name": u.name, "role": u.role} for u in accounts], hide_index=True)
            with st.form("add-user", clear_on_submit=True):
                st.subheader("Add a user")
                name = st.text_input("Name")
                role = st.selectbox("Role", ROLES)
                password = st.text_input("Password", type="password")
                if st.form_submit_button("Add"):
                    users.add_user(conn, name.strip(), str(role), password, actor=_actor(me))
                    st.success(f"{name} added as {role}.")
            others = {u.name: u for u in accounts if u.name != me.name}
            if others:
                st.subheader("Change a user")
                # Outside the form, so that the form's role starts at the chosen user's role:
                # changing only a password must not change the role as well.
                who = st.selectbox("User", list(others), key="change-who")
                if who is not None:
                    _change_form(conn, others[who], _actor(me))
    except LogiStreamError as error:
        st.error(str(error))


def _actor(me: users.User) -> Actor:
    return Actor(me.name, "dashboard", me.organisation)


def _change_form(
    conn: psycopg.Connection[tuple[object, ...]], account: users.User, actor: Actor
) -> None:
    """Change one account's role or password, or remove it; say exactly what changed."""
    with st.form("change-user"):
        new_role = st.selectbox("Role", ROLES, index=list(ROLES).index(account.role))
        new_password = st.text_input("New password (empty: keep)", type="password")
        remove = st.checkbox(f"Remove {account.name}")
        if not st.form_submit_button("Apply"):
            return
    if remove:
        users.remove_user(conn, account.name, actor=actor)
        st.success(f"{account.name} removed.")
        return
    changed = []
    if new_role != account.role:
        users.set_role(conn, account.name, str(new_role), actor=actor)
        changed.append(f"role now {new_role}")
    if new_password:
        users.set_password(conn, account.name, new_password, actor=actor)
        changed.append("password changed")
    st.success(f"{account.name}: {', '.join(changed)}." if changed else "Nothing to change.")
