"""Fleet analytics: fuel efficiency by truck, route and driver; driver scorecards; thefts."""

from __future__ import annotations

from typing import Any

import streamlit as st

from logistream.reads import tables as ar
from logistream.serving import audits_data, ui


def _page(conn: Any) -> None:
    s = ui.settings()
    found = ar.present(conn, ar.ANALYTICS_VIEWS)
    missing = audits_data.missing_line(ar.ANALYTICS_VIEWS, found, "this page")
    batch = not missing and ar.has_rows(conn, "fuel_efficiency")
    if missing:
        st.warning(missing)
    elif not batch:
        st.warning("The batch views are empty until the batch layer has run (`logistream batch`).")
    st.subheader("Fuel efficiency by truck")
    if batch:
        st.dataframe(ar.fuel_by_truck_view(conn).records(), hide_index=True)
        left, right = st.columns(2)
        left.caption("By route")
        left.dataframe(ar.fuel_grouped(conn, "route").records(), hide_index=True)
        right.caption("By driver")
        right.dataframe(ar.fuel_grouped(conn, "driver_id").records(), hide_index=True)
        st.subheader("Driver scorecards (lowest score first)")
        st.dataframe(ar.driver_scorecards(conn).records(), hide_index=True)
    else:
        st.caption("Average fuel level per truck (the original audit on truck_history)")
        st.dataframe(ar.fuel_by_truck(conn).records(), hide_index=True)
    st.subheader("Suspected fuel thefts")
    if batch:
        thefts = ar.fuel_thefts(conn).records()
        st.caption("Batch layer: fuel lost beyond what driving and the reefer explain")
        if thefts:
            st.dataframe(audits_data.localise(thefts, ("start",), s.timezone), hide_index=True)
        else:
            st.caption("None.")
    alerts = ar.theft_alerts(conn).records()
    st.caption("Speed layer: fuel_theft alerts")
    if alerts:
        st.dataframe(audits_data.localise(alerts, ("opened",), s.timezone), hide_index=True)
    else:
        st.caption("None.")


def render() -> None:
    st.title("Fleet analytics")
    try:
        with ui.reader() as conn:
            _page(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
