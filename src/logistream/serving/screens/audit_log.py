"""Audit trail: who changed what, when, from where (``audit_log``, issue 18), filtered, newest
first, a page of :data:`~logistream.serving.audit_log_data.PAGE_ROWS` rows at a time; a CSV of
the filtered rows; and a "Check the chain" button that runs ``audit.verify`` over the whole log.

Everything is read on the reader's connection (the role may SELECT ``audit_log``). Only the
roles :func:`~logistream.serving.audit_log_data.can_read_audit_trail` allows see it; anyone else
who opens ``/audit-log`` is told why not. Not the trip audits (``/audits``).
"""

from __future__ import annotations

from datetime import date
from typing import Final

import streamlit as st

from logistream.audit.trail import SOURCES
from logistream.reads.audit_log import TrailFilter
from logistream.serving import audit_log_data as ad
from logistream.serving import ui

ANY: Final = "(any)"
PAGE_KEY: Final = "audit_log_page"


def _pick(label: str, options: list[str], key: str) -> str | None:
    chosen = st.selectbox(label, [ANY, *options], key=key)
    return None if chosen in (None, ANY) else str(chosen)


def _filters(kinds: list[str], actions: list[str], timezone: str) -> TrailFilter:
    left, middle, right = st.columns(3)
    with left:
        kind = _pick("Subject kind", kinds, "audit_log_kind")
        subject = st.text_input("Subject id contains", key="audit_log_subject").strip()
    with middle:
        actor = st.text_input("Who (exact name)", key="audit_log_actor").strip()
        source = _pick("From where", list(SOURCES), "audit_log_source")
    with right:
        action = _pick("What (action)", actions, "audit_log_action")
        days = st.date_input(f"Days ({timezone})", value=[], key="audit_log_days")
    picked = [d for d in (days if isinstance(days, tuple | list) else [days]) if d is not None]
    first: date | None = picked[0] if picked else None
    last: date | None = picked[-1] if picked else None
    start, end = ad.day_range(first, last, timezone)
    return TrailFilter(kind, subject or None, actor or None, source, action, start, end)


def _chain_check() -> None:
    from logistream.audit.verify import ADVICE, verify

    if not st.button("Check the chain", key="audit_log_verify"):
        return
    try:
        with ui.reader() as conn, st.spinner("Walking the chain..."):
            result = verify(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    intact, message = ad.chain_message(result)
    if intact:
        st.success(message)
    else:
        st.error(message)
        st.caption(f"What to do: {ADVICE}.")


def _csv(wanted: TrailFilter, timezone: str) -> None:
    from logistream.reads import audit_log as reads
    from logistream.reads.connect import connect_reader

    settings = ui.settings()

    def build() -> str:
        # Runs on its own thread when clicked: its own reader connection.
        with connect_reader(settings) as conn:
            rows = reads.fetch(conn, wanted, ad.CSV_MAX_ROWS)
        return ad.csv_text(rows, timezone)

    st.download_button(
        f"Download the filtered rows (CSV, at most {ad.CSV_MAX_ROWS:,})",
        data=build,
        file_name="audit_trail.csv",
        mime="text/csv",
        key="audit_log_csv",
    )


def render() -> None:
    from logistream.display_time import zone_note
    from logistream.reads import audit_log as reads

    st.title("Audit trail")
    user = ui.current_user()
    if user is None or not ad.can_read_audit_trail(user.role):
        st.info(ad.REFUSAL)
        return
    timezone = ui.settings().timezone
    st.caption(
        "Every change to shipments, modes, quality decisions and configuration: who made it, "
        f"from where, the value before and after. Newest first; times: {zone_note(timezone)}."
    )
    _chain_check()
    try:
        with ui.reader() as conn:
            kinds, actions = reads.choices(conn)
            wanted = _filters(kinds, actions, timezone)
            page = int(st.number_input("Page", min_value=1, value=1, step=1, key=PAGE_KEY))
            offset = (page - 1) * ad.PAGE_ROWS
            rows = reads.fetch(conn, wanted, ad.PAGE_ROWS + 1, offset)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    more = len(rows) > ad.PAGE_ROWS
    rows = rows[: ad.PAGE_ROWS]
    if not rows:
        st.info("No audit row matches these filters" + (" on this page." if page > 1 else "."))
    else:
        st.caption(
            f"Rows {offset + 1}-{offset + len(rows)}"
            + ("; more on the next page." if more else " (the last page).")
        )
        st.dataframe(ad.table_rows(rows, timezone), hide_index=True)
    _csv(wanted, timezone)
