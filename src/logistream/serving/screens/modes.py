"""Operating modes: which trucks are in precooling, maintenance or washout (their temperature
alarms held, recorded as suppressed), who set them, and the forms to set one, end one early and,
for a carrier admin, approve or refuse one waiting for approval (a truck with an active shipment).

Every change goes through ``ModeStore`` with the owner's connection, as ``logistream modes``
does: the signed-in user is the actor (``ModeStore.user(name, "dashboard")``: its role and
organisation, re-read from ``users``, decide, and a refusal is shown as its one line), the change
and its audit line commit together, then ``ModePublisher`` puts it on the ``truck_modes`` topic
(a Kafka outage is a warning: the change is stored and sent by the next start of the CLI or the
API). Who sees which form: ``serving/modes_data.py``; a viewer sees the lists only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import streamlit as st

from logistream.errors import LogiStreamError
from logistream.modes.wire import MODE_KINDS
from logistream.reads.tenancy import CARRIER
from logistream.serving import modes_data as md
from logistream.serving import ui
from logistream.serving.owner_changes import owner, publish_committed
from logistream.serving.users import User

if TYPE_CHECKING:
    from logistream.modes.rules import ModeActor
    from logistream.modes.store import ModeStore, StoredMode

DONE_KEY: Final = "modes_done"


def _user() -> User:
    user = ui.current_user()
    # Not signed in (the pages are behind the sign-in; AppTest runs them directly): a viewer.
    return user if user is not None else User("anonymous", "viewer", CARRIER)


def _change(what: Callable[[ModeStore, ModeActor], StoredMode], user: User, done: str) -> bool:
    """Make one change as ``user``, publish it, say so; a refusal is shown as its one line.
    True when the change was stored."""
    from logistream.modes.publish import ModePublisher
    from logistream.modes.store import ModeStore

    try:
        with owner() as conn:
            store = ModeStore(conn, ui.registry())
            mode = what(store, store.user(user.name, "dashboard"))
            publisher = ModePublisher(ui.settings(), timeout_s=10.0)
            # Nothing is sent for a pending mode.
            if not publish_committed(publisher, conn, mode.mode_id, done):
                return True
    except LogiStreamError as error:
        st.error(str(error))
        return False
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return False
    if mode.status == "pending_approval":
        done += ": the truck carries an active shipment, so a carrier admin approves it first"
    st.session_state[DONE_KEY] = done
    return True


def _table(modes: list[StoredMode], timezone: str, now: datetime, empty: str) -> None:
    if not modes:
        st.info(empty)
        return
    st.dataframe(md.mode_rows(modes, timezone, now), hide_index=True)


def _set_form(user: User, timezone: str, now: datetime) -> None:
    from logistream.modes.cli import parse_until

    with st.expander("Put a truck in an operating mode"):
        trucks = sorted(ui.registry().truck_index)
        truck = st.selectbox("Truck", trucks, key="mode_truck")
        kind = st.selectbox("Mode", list(MODE_KINDS), key="mode_kind")
        reason = st.text_input("Why", key="mode_reason")
        until = st.text_input(
            f"Until ({timezone}; at most 7 days)",
            value=md.default_until(now, timezone),
            key="mode_until",
        )
        if st.button("Set the mode", key="mode_set") and truck is not None and kind is not None:

            def set_mode(store: ModeStore, actor: ModeActor) -> StoredMode:
                return store.set(truck, kind, reason, parse_until(until, timezone), actor)

            if _change(set_mode, user, f"{truck} in {kind}"):
                st.rerun()


def _end_form(user: User, current: list[StoredMode]) -> None:
    if not current:
        return
    with st.expander("End a mode early"):
        trucks = [m.truck_id for m in current]
        truck = st.selectbox("Truck", trucks, key="mode_end_truck")
        reason = st.text_input("Why it ends now", key="mode_end_reason")
        if (
            st.button("End the mode", key="mode_end")
            and truck is not None
            and _change(
                lambda store, actor: store.end(truck, actor, reason),
                user,
                f"{truck}'s mode ended",
            )
        ):
            st.rerun()


def _approvals(user: User, pending: list[StoredMode], timezone: str) -> None:
    st.subheader("Waiting for approval")
    if not pending:
        st.caption("No mode is waiting for approval.")
        return
    labels = {m.mode_id: md.pending_label(m, timezone) for m in pending}
    chosen = st.selectbox("Mode", list(labels), format_func=labels.__getitem__, key="mode_pending")
    if chosen is None:
        return
    if st.button("Approve", key="mode_approve") and _change(
        lambda store, actor: store.approve(chosen, actor), user, f"Mode {chosen} approved"
    ):
        st.rerun()
    reason = st.text_input("Why it is refused", key="mode_refuse_reason")
    if st.button("Refuse", key="mode_refuse") and _change(
        lambda store, actor: store.refuse(chosen, actor, reason), user, f"Mode {chosen} refused"
    ):
        st.rerun()


def render() -> None:
    from logistream.display_time import zone_note
    from logistream.modes.store import ModeStore

    st.title("Operating modes")
    timezone = ui.settings().timezone
    st.caption(
        "A truck in precooling, maintenance or washout has its temperature alarms held (kept "
        "as suppressed, never sent) until the mode ends. A dispatcher sets one; on a truck "
        f"carrying an active shipment a second person, a carrier admin, approves it. Times: "
        f"{zone_note(timezone)}."
    )
    done = st.session_state.pop(DONE_KEY, None)
    if done is not None:
        st.success(done)
    user = _user()
    now = datetime.now(UTC)
    try:
        with owner() as conn:
            store = ModeStore(conn, ui.registry())
            current = store.list(now=now)
            recent = md.over(store.list(include_over=True, now=now, limit=2 * md.RECENT), now)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    except LogiStreamError as error:
        st.error(str(error))
        return
    st.subheader("Now")
    _table(current, timezone, now, "No truck is in an operating mode.")
    if md.can_approve(user.role, user.organisation):
        _approvals(user, [m for m in current if m.status == "pending_approval"], timezone)
    if md.can_set(user.role, user.organisation):
        _set_form(user, timezone, now)
        _end_form(user, current)
    st.subheader("Recent")
    _table(recent, timezone, now, "No mode has ended yet.")
