"""Users (admins only): list accounts with their organisation, add one (in an existing
organisation: ``carrier`` for the fleet's staff, or a shipper or receiver), change a role, an
organisation, reset a password, remove one; each change is in the audit trail as the signed-in
admin's, from the dashboard (as ``logistream users set-organisation`` records it from the CLI).

The add form's organisation is a radio (one per organisation), so that the page's select boxes
keep their order (the change form's organisation is a select box after its role). Organisations
are added with ``logistream orgs add`` (not here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from logistream.audit.trail import Actor
from logistream.config import resolve_endpoints
from logistream.errors import LogiStreamError
from logistream.serving import ui, users
from logistream.serving.auth import ROLES
from logistream.serving.tenancy_data import may_manage_users

if TYPE_CHECKING:
    import psycopg


def render() -> None:
    st.title("Users")
    me = ui.current_user()
    if me is None or not may_manage_users(me.role, me.organisation):
        st.error("Only an admin manages users.")
        return
    try:
        with users.connect(resolve_endpoints(ui.settings()).database_url) as conn:
            accounts = users.list_users(conn)
            orgs = {o.org_id: o for o in users.list_organisations(conn)}
            st.dataframe(
                [{"name": u.name, "role": u.role, "organisation": _label(orgs, u.organisation)}
                 for u in accounts],
                hide_index=True,
            )  # fmt: skip
            with st.form("add-user", clear_on_submit=True):
                st.subheader("Add a user")
                name = st.text_input("Name")
                role = st.selectbox("Role", ROLES)
                password = st.text_input("Password", type="password")
                ids = list(orgs)
                org = st.radio(
                    "Organisation",
                    ids,
                    index=ids.index(users.CARRIER) if users.CARRIER in ids else 0,
                    format_func=lambda o: _label(orgs, o),
                    horizontal=True,
                    key="add-organisation",
                )
                if st.form_submit_button("Add"):
                    added = users.add_user(
                        conn, name.strip(), str(role), password, org, actor=_actor(me)
                    )
                    where = "" if added.organisation == users.CARRIER else f" of {org}"
                    st.success(f"{name} added as {role}{where}.")
            others = {u.name: u for u in accounts if u.name != me.name}
            if others:
                st.subheader("Change a user")
                # Outside the form, so that the form's role starts at the chosen user's role:
                # changing only a password must not change the role as well.
                who = st.selectbox("User", list(others), key="change-who")
                if who is not None:
                    _change_form(conn, others[who], orgs, _actor(me))
    except LogiStreamError as error:
        st.error(str(error))


def _actor(me: users.User) -> Actor:
    return Actor(me.name, "dashboard", me.organisation)


def _label(orgs: dict[str, users.Organisation], org_id: str | None) -> str:
    """``acme — Acme Foods (shipper)``; the carrier by its name; none: ``(none)``."""
    if org_id is None:
        return "(none)"
    org = orgs.get(org_id)
    if org is None:
        return org_id
    return (
        f"{org.name} (carrier)" if org.kind == "carrier" else f"{org_id} — {org.name} ({org.kind})"
    )


def _change_form(
    conn: psycopg.Connection[tuple[object, ...]],
    account: users.User,
    orgs: dict[str, users.Organisation],
    actor: Actor,
) -> None:
    """Change one account's role, organisation or password, or remove it; say exactly what
    changed."""
    ids = list(orgs)
    with st.form("change-user"):
        new_role = st.selectbox("Role", ROLES, index=list(ROLES).index(account.role))
        new_org = st.selectbox(
            "Organisation",
            ids,
            index=ids.index(account.organisation) if account.organisation in ids else None,
            format_func=lambda o: _label(orgs, o),
            key="change-organisation",
        )
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
    if new_org is not None and new_org != account.organisation:
        users.set_organisation(conn, account.name, str(new_org), actor=actor)
        changed.append(f"organisation now {new_org}")
    if new_password:
        users.set_password(conn, account.name, new_password, actor=actor)
        changed.append("password changed")
    st.success(f"{account.name}: {', '.join(changed)}." if changed else "Nothing to change.")
