"""The LogiStream control room (Streamlit). Run with ``logistream dashboard``.

Reads the speed layer's live views from Redis only; refreshes every 2 s in a fragment, so the
page is not reloaded as a whole.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from logistream import live_views
from logistream.config import get_settings, resolve_endpoints
from logistream.registry import cached_registry
from logistream.serving import live_data

REFRESH_S = 2.0


@st.cache_resource
def _redis() -> Any:
    import redis

    return redis.Redis.from_url(resolve_endpoints().redis_url, socket_timeout=2)


def _live_fleet() -> None:
    import redis

    settings = get_settings()
    registry = cached_registry(settings.registry_dir)
    client = _redis()
    try:
        fleet = live_views.read_fleet(client)
        alerts = live_views.read_open_alerts(client)
        heartbeats = live_views.read_heartbeats(client)
    except redis.RedisError as error:
        st.error(
            f"Redis is not answering ({error.__class__.__name__}): live views are paused and "
            "come back by themselves when it is back."
        )
        return

    healthy, line = live_data.speed_layer_health(heartbeats)
    (st.success if healthy else st.error)(line)

    figures = live_data.headline(fleet, alerts, registry)
    columns = st.columns(2 + len(figures.open_by_severity))
    columns[0].metric("Trucks reporting", figures.trucks)
    columns[1].metric("In range", f"{figures.share_in_range:.0%}")
    for column, (severity, count) in zip(
        columns[2:], figures.open_by_severity.items(), strict=True
    ):
        column.metric(f"Open {severity}", count)

    st.subheader("Trucks")
    rows = live_data.truck_rows(fleet, registry, settings.timezone)
    if rows:
        st.dataframe(rows, hide_index=True, use_container_width=True)
    else:
        st.info("No truck has reported yet. Start the simulator: `logistream simulate`.")

    st.subheader("Open alerts")
    alert_rows = live_data.alert_rows(alerts, settings.timezone)
    if alert_rows:
        st.dataframe(alert_rows, hide_index=True, use_container_width=True)
    else:
        st.caption("No open alerts.")


def main() -> None:
    st.set_page_config(page_title="LogiStream control room", page_icon="🚚", layout="wide")
    st.title("LogiStream control room")
    st.caption("Live cold-chain status of the fleet, from the speed layer (refreshes every 2 s).")
    st.fragment(run_every=REFRESH_S)(_live_fleet)()


main()
