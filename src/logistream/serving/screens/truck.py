"""One truck: live temperature against its cargo range, fuel and speed, trail, trip, alerts.

Live figures from Redis; the hours before from PostgreSQL (the archive).
"""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import streamlit as st

from logistream.serving import alerts_data, live_data, map_data, map_view, truck_data, ui

REFRESH_S = 2.0
HISTORY_H = 6.0


@st.cache_data(ttl=10, show_spinner=False)
def _history(truck_id: str, since_s: float, key: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    from logistream.reads.tables import truck_history

    with ui.reader() as conn:
        table = truck_history(conn, truck_id, since_s)
    return [tuple(r) for r in table.rows], list(table.columns)


@st.cache_data(ttl=30, show_spinner=False)
def _audited_excursions(truck_id: str, since_s: float, key: str) -> list[dict[str, Any]]:
    from logistream.reads.tables import present, truck_excursions

    with ui.reader() as conn:
        if not present(conn, ["excursions"]):  # an archive not migrated for the batch views
            return []
        return truck_excursions(conn, truck_id, since_s).records()


def _chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    for row in rows:
        row["time"] = row["time"].isoformat()
    data = alt.InlineData(values=rows)
    x = alt.X("time:T", title=None)
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.18, color="#2ecc71")
        .encode(x=x, y=alt.Y("low:Q", title="°C"), y2="high:Q")
    )
    line = alt.Chart(data).mark_line(color="#3498db").encode(x=x, y="temp:Q")
    outside = (
        alt.Chart(alt.InlineData(values=[r for r in rows if r["outside"]]))
        .mark_point(color="#e74c3c", filled=True, size=40)
        .encode(x=x, y="temp:Q", tooltip=["time:T", "temp:Q"])
    )
    return alt.LayerChart(layer=[band, line, outside])


def _live(truck_id: str) -> None:
    s, registry = ui.settings(), ui.registry()
    try:
        views = ui.live()
        view = views.truck(truck_id)
        live_points = views.temperature_history(truck_id)
        alerts = [a for a in views.open_alerts() if a.truck_id == truck_id]
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    if view is None:
        st.info(f"No live reading of {truck_id} in Redis yet.")
        return
    reading = view.reading
    profile = registry.profile_for(reading.cargo)
    cols = st.columns(6)
    cols[0].metric("Status", map_data.status_class(view.status))
    cols[1].metric("Cargo °C", f"{reading.temp:.1f}", help=f"{profile.label}: "
                   f"{profile.low_c:g} – {profile.high_c:g} °C")  # fmt: skip
    cols[2].metric("Fuel %", "—" if reading.fuel is None else f"{reading.fuel:.1f}")
    cols[3].metric("Speed km/h", "—" if reading.speed_kmh is None else f"{reading.speed_kmh:.0f}")
    cols[4].metric("Trip", reading.trip_id or "—")
    cols[5].metric("Last reading", live_data.local_time(reading.timestamp, s.timezone))

    archived: list[tuple[Any, ...]] = []
    columns: list[str] = []
    audited: list[dict[str, Any]] = []
    archive_line = ""
    since = round(time.time() - HISTORY_H * 3600, -1)
    try:
        archived, columns = _history(truck_id, since, s.database_name)
        audited = _audited_excursions(truck_id, since, s.database_name)
    except ui.pg_errors() as error:
        archive_line = f"PostgreSQL is not answering ({error.__class__.__name__}): live part only."
    history = [dict(zip(columns, r, strict=True)) for r in archived]
    points = truck_data.merge_series([(h["t"], h["temp"]) for h in history], live_points)
    st.subheader(
        f"Cargo temperature — {profile.label}, range {profile.low_c:g} – {profile.high_c:g} °C"
    )
    if archive_line:
        st.warning(archive_line)
    if points:
        st.altair_chart(_chart(truck_data.chart_rows(points, profile, s.timezone)), width="stretch")
        if audited:
            st.caption(
                f"{len(audited)} excursion(s) in this window, as the audit counts them "
                "(batch views, as of the last `logistream batch`)"
            )
            st.dataframe(truck_data.excursion_rows(audited, s.timezone), hide_index=True)
    left, right = st.columns(2)
    with left:
        st.subheader("Fuel and speed")
        if history:
            frame = {
                "time": [truck_data.to_local(h["t"], s.timezone) for h in history],
                "fuel %": [h["fuel"] for h in history],
                "speed km/h": [h["speed_kmh"] for h in history],
            }
            st.line_chart(frame, x="time", height=260)
        else:
            st.caption("No archived readings in the last hours.")
    with right:
        st.subheader("Trail")
        trail = [(h["lat"], h["lon"]) for h in history if h["lat"] is not None]
        truck = registry.truck(truck_id)
        deck = map_view.kenya_deck(
            map_data.route_paths(registry, [truck.route] if truck else []),
            map_data.truck_points([view], registry),
            map_data.trail_path(trail),
            style_url=s.map_style_url,
        )
        st.pydeck_chart(deck, height=260)
    st.subheader("Open alerts")
    if alerts:
        rows = alerts_data.table(alerts_data.ordered(alerts), registry, s.timezone, time.time())
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No open alerts.")


def render() -> None:
    st.title("Truck")
    try:
        ids = ui.live().truck_ids()
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    if not ids:
        st.info("No truck has reported yet. Start the simulator: `logistream simulate`.")
        return
    wanted = st.query_params.get("truck")
    index = ids.index(wanted) if wanted in ids else 0
    truck_id = st.selectbox("Truck", ids, index=index)
    if truck_id is not None:
        st.query_params["truck"] = truck_id
        st.fragment(run_every=REFRESH_S)(_live)(truck_id)
