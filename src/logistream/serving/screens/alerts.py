"""Alerts: open alerts by severity and age, filters, acknowledgement with a note, recent changes.

A shipper's or receiver's user sees the alerts of the trucks in its care, opened within its
shipment's window, and their changes (``serving.tenant_view``); it acknowledges none (the
carrier's dispatchers do) and is not shown the failed notifications (the carrier's own)."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from logistream.audit.acks import AckNotRecorded
from logistream.events import SEVERITY_ORDER, Alert
from logistream.kafka import Producer
from logistream.serving import alerts_data, tenancy_data, tenant_view, ui
from logistream.serving.users import User

REFRESH_S = 2.0
ACK_WAIT_S = 8.0
RESULT_KEY = "ack_result"
SENT_KEY = "ack_sent"
"""Ids of the alerts acknowledged from this session that the speed layer has not applied yet."""


def _chosen() -> alerts_data.AlertFilter:
    return alerts_data.AlertFilter(
        severities=st.session_state.get("alert_severities", []),
        rules=st.session_state.get("alert_rules", []),
        routes=st.session_state.get("alert_routes", []),
    )


def _tables() -> None:
    s, registry = ui.settings(), ui.registry()
    who = tenant_view.user()
    try:
        views = ui.live()
        alerts = tenant_view.open_alerts(views, who)
        changes = [c.alert for c in tenant_view.recent_changes(views, who, 50)]
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    except ui.pg_errors() as error:  # a tenant's trucks in care are read from PostgreSQL
        ui.store_down("PostgreSQL", error)
        return
    shown = alerts_data.ordered(alerts_data.apply_filter(alerts, _chosen(), registry))
    st.subheader(f"Open alerts ({len(shown)} of {len(alerts)})")
    if shown:
        rows = alerts_data.table(shown, registry, s.timezone, time.time())
        st.dataframe(rows, hide_index=True, width="stretch", column_config=_widths(rows))
    else:
        st.caption("No open alert matches." if alerts else "No open alerts.")
    if tenancy_data.is_carrier_staff(who.organisation):
        _failed_notifications([a.alert_id for a in alerts])
    st.subheader("Recent changes")
    if changes:
        rows = alerts_data.change_rows(changes, s.timezone)
        st.dataframe(rows, hide_index=True, width="stretch", column_config=_widths(rows))
    else:
        st.caption("No alert has changed yet.")


def _widths(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fixed widths for the columns whose contents change while the table refreshes."""
    present = rows[0] if rows else {}
    return {
        name: st.column_config.TextColumn(width=width)
        for name, width in alerts_data.COLUMN_WIDTHS.items()
        if name in present
    }


def _failed_notifications(alert_ids: list[str]) -> None:
    """A notification nobody received must be seen: someone has to call instead."""
    if not alert_ids:
        return
    from logistream.reads import tables

    try:
        with ui.reader() as conn:
            if "notifications" not in tables.present(conn, ["notifications"]):
                return
            failed = tables.failed_notifications(conn, alert_ids)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    if len(failed):
        st.error(
            f"{len(failed)} notification(s) about open alerts could not be delivered: "
            "tell those people another way."
        )
        rows = alerts_data.localise_failed(failed.records(), ui.settings().timezone)
        st.dataframe(rows, hide_index=True, width="stretch")


def _acknowledge(alert: Alert, note: str, user: User) -> None:
    from logistream.audit.acks import owner_connection, send_and_record
    from logistream.audit.trail import Actor
    from logistream.commands import ack_command, publish_command

    by, s = user.name, ui.settings()
    actor = Actor(by, "dashboard", user.organisation)
    send = lambda c: publish_command(_producer(), s, c)  # noqa: E731
    send_and_record(owner_connection(s), actor, alert, ack_command(alert, by, note), send)
    deadline = time.monotonic() + ACK_WAIT_S
    views = ui.live()
    while time.monotonic() < deadline:
        current = views.alert(alert.alert_id)
        if current is not None and current.acknowledged_by is not None:
            since = "; it has resolved since" if current.state == "resolved" else ""
            _say("success", f"{alert.truck_id} {alert.rule}: acknowledged by {by}{since}.")
            return
        time.sleep(0.2)
    _say(
        "warning",
        "Acknowledgement sent; the speed layer has not applied it yet (is `logistream speed` "
        "running?). It shows here once applied.",
    )


def _say(kind: str, text: str) -> None:
    # Kept in the session: the outcome stays on screen across the reruns that follow.
    st.session_state[RESULT_KEY] = (kind, text)


@st.cache_resource(show_spinner=False)
def _producer_for(bootstrap: str) -> Producer:
    from logistream.kafka import durable_producer

    return durable_producer(ui.settings())


def _producer() -> Producer:
    from logistream.config import resolve_endpoints

    return _producer_for(resolve_endpoints(ui.settings()).kafka_bootstrap)


def _ack_form(alerts: list[Alert]) -> None:
    user = ui.current_user()
    st.subheader("Acknowledge")
    if user is not None and not tenancy_data.is_carrier_staff(user.organisation):
        st.caption("The carrier's dispatchers acknowledge alerts; you see them here.")
        return
    if user is None or not tenancy_data.may_acknowledge(user.role, user.organisation):
        st.caption("Viewers see alerts; a dispatcher or an admin acknowledges them.")
        return
    choices = alerts_data.ack_choices(alerts, st.session_state.get(SENT_KEY, set()))
    st.session_state[SENT_KEY] = choices.still_sent
    if choices.sent:
        st.caption(alerts_data.sent_text(choices.sent))
    waiting = choices.waiting
    if not waiting:
        st.caption("Nothing waits for an acknowledgement.")
        _show_result()
        return
    s = ui.settings()
    labels = {a.alert_id: alerts_data.choice_label(a, s.timezone) for a in waiting}
    with st.form("ack", clear_on_submit=True):
        chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__)
        note = st.text_input("Note (what is being done)", max_chars=2000)
        sent = st.form_submit_button(f"Acknowledge as {user.name}")
    if sent and chosen is not None:
        alert = next(a for a in waiting if a.alert_id == chosen)
        try:
            _acknowledge(alert, note, user)
        except Exception as error:  # Kafka or PostgreSQL down: say so, keep the page
            _say("error", str(error) if isinstance(error, AckNotRecorded) else f"Not sent: {error}")
        else:
            st.session_state[SENT_KEY] = choices.still_sent | {alert.alert_id}
            # Drawn again from the live views: the picker moves on to an alert still waiting
            # (its options change, so it starts at the first); the result is kept in the session.
            st.rerun()
    _show_result()


def _show_result() -> None:
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        kind, text = result
        {"success": st.success, "warning": st.warning, "error": st.error}[kind](text)


def render() -> None:
    st.title("Alerts")
    registry = ui.registry()
    try:
        alerts = tenant_view.open_alerts(ui.live(), tenant_view.user())
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    rules = sorted(set(alerts_data.RULES) | {a.rule for a in alerts})
    left, middle, right = st.columns(3)
    left.multiselect("Severity", list(SEVERITY_ORDER), key="alert_severities")
    middle.multiselect("Rule", rules, key="alert_rules")
    right.multiselect(
        "Route",
        list(registry.routes),
        format_func=lambda r: registry.routes[r].label,
        key="alert_routes",
    )
    st.fragment(run_every=REFRESH_S)(_tables)()
    _ack_form(alerts)
