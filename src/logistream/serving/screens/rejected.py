"""Rejected readings: what the bridge refused (the dead-letter record), newest first, with why."""

from __future__ import annotations

from typing import Any

import streamlit as st

from logistream.display_time import show
from logistream.reads import rejected as reads
from logistream.serving import ui


def _page(conn: Any) -> None:
    s = ui.settings()
    totals = reads.counts(conn)
    if not totals:
        st.info("No reading has been rejected: every message so far kept the contract.")
        return
    st.caption(
        "Each message the bridge refused went to the dead-letter topic and is kept here with "
        "why; the reason says what to fix in the producer."
    )
    cols = st.columns(min(len(totals), 6))
    for column, (code, n) in zip(cols, list(totals.items())[:6], strict=False):
        column.metric(code, n)
    chosen = st.selectbox("Reason", ["all", *totals])
    found = reads.recent(conn, 500, None if chosen == "all" else chosen)
    st.subheader(f"Newest {len(found)} rejected")
    rows = [
        {
            "rejected": show(r.rejected_at, s.timezone),
            "reason": r.reason,
            "truck": r.truck,
            "what to fix": r.detail,
            "message as sent": r.original,
            "kafka": r.where,
        }
        for r in found
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def render() -> None:
    st.title("Rejected readings")
    try:
        with ui.reader() as conn:
            _page(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
