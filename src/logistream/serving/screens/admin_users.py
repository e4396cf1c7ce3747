"""Users (admins only): list accounts, add one, change a role, reset a password, remove one."""

from __future__ import annotations

import streamlit as st

from logistream.config import resolve_endpoints
from logistream.errors import LogiStreamError
from logistream.serving import ui, users
from logistream.serving.auth import ROLES, can_manage_users


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
                    users.add_user(conn, name.strip(), str(role), password)
                    st.success(f"{name} added as {role}.")
            names = [u.name for u in accounts if u.name != me.name]
            if names:
                with st.form("change-user"):
                    st.subheader("Change a user")
                    who = st.selectbox("User", names)
                    new_role = st.selectbox("New role", ROLES)
                    new_password = st.text_input("New password (empty: keep)", type="password")
                    remove = st.checkbox("Remove this user")
                    if st.form_submit_button("Apply") and who is not None:
                        if remove:
                            users.remove_user(conn, who)
                        else:
                            users.set_role(conn, who, str(new_role))
                            if new_password:
                                users.set_password(conn, who, new_password)
                        st.success(f"{who} updated.")
    except LogiStreamError as error:
        st.error(str(error))
