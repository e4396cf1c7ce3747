"""One truck: live temperature against its cargo range, fuel and speed, trail, trip, alerts.
A truck with several probes shows each probe's temperature and one chart line per probe.

Live figures from Redis; the hours before from PostgreSQL (the archive); the current trip's time
out of range from the batch views; the truck's operating modes (``truck_modes``, through
``reads.modes``) as shaded bands on the temperature chart. Every time on one 24-hour clock in the
display zone.

A shipper's or receiver's user picks only among the trucks in its care, and sees of one only
what happened since its shipment's window began (``serving.tenant_view``): the live history and
open alerts cut there, the archive read through ``reads.tenancy.scoped`` (row-level security on
readings and the trip views) from the window's start. Its chart shows the truck's operating
modes that overlap its shipments' windows (row-level security on ``truck_modes``, migration
0071): a mode held the alarms of its cargo's truck.
"""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import streamlit as st

from logistream.display_time import zone_note
from logistream.live_views import TruckView
from logistream.reads.modes import ModeInterval
from logistream.reads.trip_out_of_range import TripOutOfRange
from logistream.registry import CargoProfile, Registry
from logistream.serving import (
    alerts_data,
    map_data,
    map_view,
    probe_temps,
    tenancy_data,
    tenant_view,
    truck_data,
    ui,
)

REFRESH_S = 2.0
HISTORY_H = 6.0


# The cached reads below take the organisation read for as an argument, so one organisation's
# cached rows are never another's.
@st.cache_data(ttl=10, show_spinner=False)
def _history(
    truck_id: str, since_s: float, key: str, org: str | None
) -> tuple[list[tuple[Any, ...]], list[str]]:
    from logistream.reads.tables import truck_history

    with tenant_view.reader_for(org) as conn:
        table = truck_history(conn, truck_id, since_s)
    return [tuple(r) for r in table.rows], list(table.columns)


@st.cache_data(ttl=30, show_spinner=False)
def _audited_excursions(
    truck_id: str, since_s: float, key: str, org: str | None
) -> list[dict[str, Any]]:
    from logistream.reads.tables import present, truck_excursions

    with tenant_view.reader_for(org) as conn:
        if not present(conn, ["excursions"]):  # an archive not migrated for the batch views
            return []
        return truck_excursions(conn, truck_id, since_s).records()


@st.cache_data(ttl=10, show_spinner=False)
def _trip_out_of_range(
    truck_id: str, trip_id: str, key: str, org: str | None
) -> TripOutOfRange | None:
    from logistream.reads.tables import present
    from logistream.reads.trip_out_of_range import trip_out_of_range

    with tenant_view.reader_for(org) as conn:
        if len(present(conn, ["trips", "trip_compliance"])) < 2:  # batch views not migrated
            return None
        return trip_out_of_range(conn, truck_id, trip_id)


@st.cache_data(ttl=10, show_spinner=False)
def _modes(
    truck_id: str, since_s: float, until_s: float, key: str, org: str | None
) -> list[ModeInterval]:
    from datetime import UTC, datetime

    import psycopg

    from logistream.reads.modes import mode_intervals
    from logistream.reads.tables import present

    try:
        with tenant_view.reader_for(org) as conn:
            if not present(conn, ["truck_modes"]):  # an archive not migrated for modes
                return []
            return mode_intervals(
                conn,
                truck_id,
                datetime.fromtimestamp(since_s, UTC),
                datetime.fromtimestamp(until_s, UTC),
            )
    except psycopg.errors.InsufficientPrivilege:  # a tenant on an archive from before 0071
        return []


def _time_x() -> alt.X:
    # Wall-clock times marked UTC, drawn on a UTC scale (which Vega-Lite labels in UTC), on the
    # 24-hour clock: Vega's default labels are 12-hour ("09 AM") beside the page's 24-hour times.
    return alt.X(
        "time:T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format=truck_data.AXIS_CLOCK),
    )


def _time_tooltip() -> alt.Tooltip:
    # The time as the page writes it (a tooltip has no scale: Vega would use the browser's zone).
    return alt.Tooltip("at:N", title="time")


def _chart(
    rows: list[dict[str, Any]], several: bool, modes: list[dict[str, Any]] | None = None
) -> alt.LayerChart:
    """The range as a band, the temperature as a line (``several``: one line per probe, named in
    the legend), points outside the range in red; each operating mode (``modes``: rows of
    :func:`truck_data.mode_band_rows`) a grey band over the chart's height, labelled with its
    kind."""
    data = alt.InlineData(values=rows)
    x = _time_x()
    band = (
        alt.Chart(alt.InlineData(values=list({r["time"]: r for r in rows}.values())))
        .mark_area(opacity=0.18, color="#2ecc71")
        .encode(x=x, y=alt.Y("low:Q", title="°C"), y2="high:Q")
    )
    tooltip = [_time_tooltip(), alt.Tooltip("temp:Q", title="°C")]
    if several:
        colour = alt.Color("probe:N", title=None, legend=alt.Legend(orient="bottom"))
        line = alt.Chart(data).mark_line().encode(x=x, y="temp:Q", color=colour)
        tooltip.insert(1, alt.Tooltip("probe:N", title="probe"))
    else:
        line = alt.Chart(data).mark_line(color="#3498db").encode(x=x, y="temp:Q")
    outside = (
        alt.Chart(alt.InlineData(values=[r for r in rows if r["outside"]]))
        .mark_point(color="#e74c3c", filled=True, size=40)
        .encode(x=x, y="temp:Q", tooltip=tooltip)
    )
    layers: list[Any] = [band, line, outside]
    if modes:
        mode_data = alt.InlineData(values=modes)
        mode_tip = [
            alt.Tooltip("kind:N", title="mode"),
            alt.Tooltip("reason:N", title="reason"),
            alt.Tooltip("from:N", title="from"),
            alt.Tooltip("to:N", title="to"),
            alt.Tooltip("set_by:N", title="set by"),
            alt.Tooltip("approved_by:N", title="approved by"),
        ]
        # Under the lines, so the temperature stays readable; the label at the band's top left.
        shade = (
            alt.Chart(mode_data)
            .mark_rect(opacity=0.15, color="#7f8c8d")
            .encode(x=alt.X("start:T", title=None, scale=alt.Scale(type="utc")), x2="end:T",
                    tooltip=mode_tip)
        )  # fmt: skip
        label = (
            alt.Chart(mode_data)
            .mark_text(align="left", baseline="top", dx=3, dy=3, color="#566573", fontSize=11)
            .encode(x=alt.X("start:T", scale=alt.Scale(type="utc")), y=alt.value(0), text="kind:N")
        )
        layers = [shade, label, *layers]
    return alt.LayerChart(layer=layers)


def _fuel_speed_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    chart: alt.Chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_line()
        .encode(
            x=_time_x(),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[_time_tooltip(), "series:N", "value:Q"],
        )
        .properties(height=260)
    )
    return chart


def _figures(
    view: TruckView, profile: CargoProfile, trip_id: str, timezone: str, registry: Registry
) -> None:
    """The headline figures in two rows, each figure as wide as its value, a row wrapping rather
    than cutting a value off (a trip id and a time did not fit a sixth of the page); a truck with
    several probes has one temperature figure per probe."""
    reading = view.reading
    try:
        org = tenant_view.user().organisation
        audited = _trip_out_of_range(view.truck_id, trip_id, ui.settings().database_name, org)
        out_value, out_help = truck_data.out_of_range_figure(audited, trip_id, timezone)
    except ui.pg_errors() as error:  # the live figures stay; say why this one is missing
        out_value = "—"
        out_help = f"PostgreSQL is not answering ({error.__class__.__name__}): no audit figure."
    with st.container(horizontal=True, gap="large"):
        st.metric("Status", map_data.status_class(view.status), width="content")
        limits = f"{profile.label}: {profile.low_c:g} – {profile.high_c:g} °C"
        if view.probes:
            for label, probe in probe_temps.ordered(view.probes, registry, view.truck_id):
                st.metric(f"Cargo °C {label}", f"{probe.temp:.1f}", width="content", help=limits)
        else:
            st.metric("Cargo °C", f"{reading.temp:.1f}", width="content", help=limits)
        st.metric("Fuel %", "—" if reading.fuel is None else f"{reading.fuel:.1f}", width="content")
        speed = "—" if reading.speed_kmh is None else f"{reading.speed_kmh:.0f}"
        st.metric("Speed km/h", speed, width="content")
    with st.container(horizontal=True, gap="large"):
        st.metric("Trip", reading.trip_id or "—", width="content")
        st.metric("Last reading", truck_data.clock(reading.timestamp, timezone), width="content")
        st.metric("Out of range this trip", out_value, help=out_help, width="content")
    st.caption(f"Times in {zone_note(timezone)}.")


def _live(truck_id: str) -> None:
    s, registry, who = ui.settings(), ui.registry(), tenant_view.user()
    key, org = s.database_name, who.organisation
    since = round(time.time() - HISTORY_H * 3600, -1)
    try:
        views = ui.live()
        if not tenant_view.may_see_truck(who, truck_id):  # its shipment ended meanwhile
            st.info(tenancy_data.NO_TRUCK_IN_CARE)
            return
        since = tenant_view.history_since(who, truck_id, since)
        view = views.truck(truck_id)
        # The single probe's history, and each named probe's own (from the window on).
        live: dict[str | None, list[tuple[float, float]]] = {
            None: views.temperature_history(truck_id)
        }
        for probe in view.probes if view is not None else ():
            live[probe.probe_id] = views.temperature_history(truck_id, probe.probe_id)
        live = {probe: [p for p in points if p[0] >= since] for probe, points in live.items()}
        alerts = [a for a in tenant_view.open_alerts(views, who) if a.truck_id == truck_id]
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    except ui.pg_errors() as error:  # a tenant's trucks in care are read from PostgreSQL
        ui.store_down("PostgreSQL", error)
        return
    if view is None:
        st.info(f"No live reading of {truck_id} in Redis yet.")
        return
    reading = view.reading
    profile = registry.profile_for(reading.cargo)
    trip_id = truck_data.trip_key(truck_id, reading.trip_id, reading.timestamp)
    _figures(view, profile, trip_id, s.timezone, registry)

    archived: list[tuple[Any, ...]] = []
    columns: list[str] = []
    audited: list[dict[str, Any]] = []
    modes: list[ModeInterval] = []
    archive_line = ""
    until = max(since + 10, reading.timestamp)
    try:
        archived, columns = _history(truck_id, since, key, org)
        audited = _audited_excursions(truck_id, since, key, org)
        modes = _modes(truck_id, since, round(until, -1) + 10, key, org)
    except ui.pg_errors() as error:
        archive_line = f"PostgreSQL is not answering ({error.__class__.__name__}): live part only."
    history = [dict(zip(columns, r, strict=True)) for r in archived]
    series = probe_temps.by_label(truck_data.probe_series(history, live), registry, truck_id)
    st.subheader(
        f"Cargo temperature — {profile.label}, range {profile.low_c:g} – {profile.high_c:g} °C"
    )
    if archive_line:
        st.warning(archive_line)
    if series:
        rows = truck_data.series_rows(series, profile, s.timezone)
        # Bands over the time the chart covers: its first point to the newest reading.
        first = min(points[0][0] for points in series.values())
        bands = truck_data.mode_band_rows(modes, first, until, s.timezone)
        st.altair_chart(_chart(rows, several=len(series) > 1, modes=bands), width="stretch")
        for b in bands:
            st.caption(
                f"Operating mode {b['kind']} ({b['reason']}) from {b['from']} to {b['to']}: "
                "the truck's temperature alarms are held (recorded as suppressed)."
            )
        if audited:
            st.caption(
                f"{len(audited)} excursion(s) in this window, as the audit counts them "
                "(batch views, as of the last `logistream batch`)"
            )
            rows = truck_data.text_times(truck_data.excursion_rows(audited, s.timezone))
            st.dataframe(rows, hide_index=True)
    left, right = st.columns(2)
    with left:
        st.subheader("Fuel and speed")
        if history:
            rows = truck_data.fuel_speed_rows(history, s.timezone)
            st.altair_chart(_fuel_speed_chart(rows), width="stretch")
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
    who = tenant_view.user()
    try:
        ids = tenant_view.truck_ids(ui.live(), who)
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    except ui.pg_errors() as error:
        ui.store_down("PostgreSQL", error)
        return
    if not ids:
        if tenancy_data.is_carrier_staff(who.organisation):
            st.info("No truck has reported yet. Start the simulator: `logistream simulate`.")
        else:
            st.info(tenancy_data.NO_TRUCK_IN_CARE)
        return
    wanted = st.query_params.get("truck")
    index = ids.index(wanted) if wanted in ids else 0
    truck_id = st.selectbox("Truck", ids, index=index)
    if truck_id is not None:
        st.query_params["truck"] = truck_id
        st.fragment(run_every=REFRESH_S)(_live)(truck_id)
