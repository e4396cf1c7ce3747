"""The Truck page's figures, in Streamlit's AppTest over real Redis and PostgreSQL: the time out
of range covers the truck's current trip (not the chart's window), and every time on the page is
on one 24-hour clock in the display time zone."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import redis
from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import _page, dashboard

from logistream.config import Settings, get_settings
from logistream.live_views import RedisLiveViews
from logistream.serving.users import User

__all__ = ["dashboard"]

ZONE = "Asia/Kolkata"  # UTC+05:30: neither UTC nor a whole-hour offset
CLOCK = re.compile(r"^\d{2} [A-Z][a-z]{2} \d{2}:\d{2}:\d{2}$")  # 07 Dec 14:03:22


def _truck_page() -> AppTest:
    page = _page("truck", User("vic", "viewer"))
    page.selectbox[0].set_value(data.HOT_TRUCK).run()
    assert not page.exception
    return page


def _metrics(page: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in page.metric}


def _set_trip_tor(settings: Settings, trip_id: str, tor_s: float) -> None:
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE trip_compliance SET tor_s = %s, above_s = %s WHERE trip_id = %s",
            [tor_s, tor_s, trip_id],
        )


def test_out_of_range_covers_the_current_trip_not_the_chart_window(dashboard: Settings) -> None:
    # Hot for 23 h 10 min on this trip, longer than the page's 6-hour window holds.
    data.place_batch_views(dashboard)
    _set_trip_tor(dashboard, data.TRIP, 23 * 3600 + 10 * 60 + 20)
    page = _truck_page()
    figure = next(m for m in page.metric if m.label == "Out of range this trip")
    assert figure.value == "23 h 10 min"
    assert data.TRIP in figure.help
    assert "batch views" in figure.help


def test_out_of_range_of_a_trip_the_audit_has_not_seen_says_so(dashboard: Settings) -> None:
    page = _truck_page()  # no batch run yet
    figure = next(m for m in page.metric if m.label == "Out of range this trip")
    assert figure.value == "—"
    assert "not in the batch views yet" in figure.help


def _temporal_encodings(spec: Any) -> list[dict[str, Any]]:
    """Every encoding of a Vega-Lite spec (any depth) whose values are times."""
    found: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        if spec.get("type") == "temporal":
            found.append(spec)
        for value in spec.values():
            found.extend(_temporal_encodings(value))
    elif isinstance(spec, list):
        for value in spec:
            found.extend(_temporal_encodings(value))
    return found


def test_every_time_on_the_truck_page_is_on_one_24_hour_clock_in_the_display_zone(
    dashboard: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGISTREAM_TIMEZONE", ZONE)
    get_settings.cache_clear()
    data.place_batch_views(dashboard)
    page = _truck_page()

    assert dashboard.redis_url
    view = RedisLiveViews(redis.Redis.from_url(dashboard.redis_url)).truck(data.HOT_TRUCK)
    assert view is not None
    local = datetime.fromtimestamp(view.reading.timestamp, UTC).astimezone(ZoneInfo(ZONE))
    assert _metrics(page)["Last reading"] == local.strftime("%d %b %H:%M:%S")

    excursions = page.dataframe[0].value
    for column in ("start", "end", "alarm"):
        for value in excursions[column]:
            assert isinstance(value, str), (column, value)
            assert CLOCK.match(value), (column, value)
    alerts = page.dataframe[1].value
    assert all(CLOCK.match(v) for v in alerts["opened"])

    charts = [json.loads(c.proto.spec) for c in page.get("vega_lite_chart")]
    assert len(charts) == 2
    for chart in charts:
        times = _temporal_encodings(chart)
        assert times, "each chart has a time axis"
        for encoding in times:
            # Vega-Lite's default time labels are 12-hour ("09 AM"): each axis gets a 24-hour one.
            shown = encoding.get("axis", {}).get("format")
            assert shown == "%H:%M", encoding
            assert encoding.get("scale", {}).get("type") == "utc", "wall-clock times drawn in UTC"
    assert any(ZONE in c.value for c in page.caption), "the page names its time zone"
