"""Fleet analytics: fuel efficiency by truck, route and driver; driver scorecards; thefts.

Every table is labelled for people (:mod:`table_labels`); fuel per 100 km by truck and by
route and the drivers' scores are also drawn as bar charts with titled axes and units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import streamlit as st

from logistream.reads import tables as ar
from logistream.serving import audits_data, table_labels, ui

FUEL_AXIS = "Fuel (L per 100 km)"
SCORE_AXIS = "Driving score (0–100, higher is better)"


def _bars(
    records: Sequence[Mapping[str, Any]],
    key: str,
    value: str,
    what: str,
    axis: str,
    names: Mapping[str, str] | None = None,
) -> None:
    """A horizontal bar per row (``what`` on the vertical axis), or a line saying why none."""
    rows = table_labels.chart_rows(records, key, value, names)
    if not rows:
        st.caption(f"No {what.lower()} has a figure to chart yet.")
        return
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=axis),
            # Route names are long: show them whole rather than cut at Vega's 180 px.
            y=alt.Y("name:N", title=what, sort="-x", axis=alt.Axis(labelLimit=420)),
            tooltip=[alt.Tooltip("name:N", title=what), alt.Tooltip("value:Q", title=axis)],
        )
    )
    st.altair_chart(chart, width="stretch")


def _page(conn: Any) -> None:
    s = ui.settings()
    ctx = table_labels.context_of(ui.registry(), s.timezone)
    found = ar.present(conn, ar.ANALYTICS_VIEWS)
    missing = audits_data.missing_line(ar.ANALYTICS_VIEWS, found, "this page")
    batch = not missing and ar.has_rows(conn, "fuel_efficiency")
    if missing:
        st.warning(missing)
    elif not batch:
        st.warning("The batch views are empty until the batch layer has run (`logistream batch`).")
    st.subheader("Fuel efficiency by truck")
    if batch:
        by_truck = ar.fuel_by_truck_view(conn).records()
        by_route = ar.fuel_grouped(conn, "route").records()
        scorecards = ar.driver_scorecards(conn).records()
        _bars(by_truck, "truck_id", "l_per_100km", "Truck", FUEL_AXIS)
        st.dataframe(table_labels.for_people(by_truck, ctx), hide_index=True)
        st.subheader("Fuel efficiency by route and by driver")
        _bars(by_route, "route", "l_per_100km", "Route", FUEL_AXIS, ctx.route_labels)
        left, right = st.columns(2)
        left.caption("By route")
        left.dataframe(table_labels.for_people(by_route, ctx), hide_index=True)
        right.caption("By driver")
        by_driver = ar.fuel_grouped(conn, "driver_id").records()
        right.dataframe(table_labels.for_people(by_driver, ctx), hide_index=True)
        st.subheader("Driver scorecards (lowest score first)")
        _bars(scorecards, "driver_id", "score", "Driver", SCORE_AXIS)
        st.dataframe(table_labels.for_people(scorecards, ctx), hide_index=True)
    else:
        st.caption("Average fuel level per truck (the original audit on truck_history)")
        st.dataframe(
            table_labels.for_people(ar.fuel_by_truck(conn).records(), ctx), hide_index=True
        )
    st.subheader("Suspected fuel thefts")
    st.caption(f"Times in {s.timezone}.")
    if batch:
        thefts = ar.fuel_thefts(conn).records()
        st.caption("Batch layer: fuel lost beyond what driving and the reefer explain")
        if thefts:
            labels = {"start": "Started"}
            st.dataframe(table_labels.for_people(thefts, ctx, labels), hide_index=True)
        else:
            st.caption("None.")
    alerts = ar.theft_alerts(conn).records()
    st.caption("Speed layer: fuel theft alerts")
    if alerts:
        labels = {"value": "Fuel lost (L)", "threshold": "Alert limit (L)"}
        st.dataframe(table_labels.for_people(alerts, ctx, labels), hide_index=True)
    else:
        st.caption("None.")


def render() -> None:
    st.title("Fleet analytics")
    try:
        with ui.reader() as conn:
            _page(conn)
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
