"""Live fleet: the map of Kenya with every truck, headline figures, the truck table (Redis only).

A shipper's or receiver's user sees the trucks in its care and their alerts only
(``serving.tenant_view``): the figures, the map and the table count those alone."""

from __future__ import annotations

import time

import streamlit as st

from logistream.serving import live_data, map_data, map_view, tenancy_data, tenant_view, ui
from logistream.serving.screens import shipments

REFRESH_S = 2.0


def _live() -> None:
    started = time.perf_counter()
    started_wall_ms = int(time.time() * 1000)
    s, registry = ui.settings(), ui.registry()
    try:
        fleet, alerts = tenant_view.fleet(ui.live(), tenant_view.user())
    except ui.redis_errors() as error:
        ui.store_down("Redis", error)
        return
    except ui.pg_errors() as error:  # a tenant's trucks in care are read from PostgreSQL
        ui.store_down("PostgreSQL", error)
        return

    figures = live_data.headline(fleet, alerts, registry)
    counts = map_data.status_counts(fleet)
    columns = st.columns(7)
    columns[0].metric("Trucks on the road", figures.trucks)
    columns[1].metric("In range", f"{figures.share_in_range:.0%}")
    for column, (severity, count) in zip(
        columns[2:6], figures.open_by_severity.items(), strict=True
    ):
        column.metric(f"Open {severity}", count)
    columns[6].metric("Offline", counts["offline"])

    routes = {t.route for t in registry.trucks if t.truck_id in {v.truck_id for v in fleet}}
    deck = map_view.kenya_deck(
        map_data.route_paths(registry, routes or None),
        map_data.truck_points(fleet, registry, shipments.truck_labels()),
        style_url=s.map_style_url,
    )
    st.pydeck_chart(deck, height=520)
    newest = max((v.reading.timestamp for v in fleet), default=None)
    legend = " · ".join(f"{name} {counts[name]}" for name in map_data.STATUS_CLASSES)
    st.caption(
        f"Positions as of {live_data.local_time(newest, s.timezone)} ({s.timezone}) · {legend} · "
        f"read and drawn in {(time.perf_counter() - started) * 1000:.0f} ms"
    )

    # For the benchmark: when this refresh began on the server (same clock as the browser's).
    st.html(f'<span id="live-refresh" data-started-ms="{started_wall_ms}"></span>')

    rows = live_data.truck_rows(fleet, registry, s.timezone)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    elif tenancy_data.is_carrier_staff(tenant_view.user().organisation):
        st.info("No truck has reported yet. Start the simulator: `logistream simulate`.")
    else:
        st.info(tenancy_data.NO_TRUCK_IN_CARE)


def render() -> None:
    st.title("Live fleet")
    st.fragment(run_every=REFRESH_S)(_live)()
