"""The Truck page shows the truck's operating mode, in Streamlit's AppTest over real Redis and
PostgreSQL: a band labelled with its kind on the temperature chart and a caption saying which
mode holds the alarms, from when to when; a refused mode is not shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import _page, dashboard

from logistream.config import Settings
from logistream.serving.users import User

__all__ = ["dashboard"]


def test_the_truck_chart_shows_the_mode_in_force(dashboard: Settings) -> None:
    assert dashboard.database_url
    now = datetime.now(UTC)
    with psycopg.connect(dashboard.database_url, autocommit=True) as conn:
        for mode_id, status, version, approved in (
            ("m-wash", "active", 1, None),
            ("m-refused", "refused", 0, "cli:bob"),
        ):
            conn.execute(
                "INSERT INTO truck_modes (mode_id, truck_id, kind, reason, starts_at, ends_at, "
                "set_by, set_source, status, approved_by, version, published_version) "
                "VALUES (%s, %s, %s, 'after fish', %s, %s, 'cli:ann', 'cli', %s, %s, %s, %s)",
                [mode_id, data.HOT_TRUCK, "washout" if status == "active" else "maintenance",
                 now - timedelta(days=2), now + timedelta(days=2), status, approved, version,
                 version],
            )  # fmt: skip
    page = _page("truck", User("vic", "viewer"))
    page.selectbox[0].set_value(data.HOT_TRUCK).run()
    assert not page.exception
    captions = [c.value for c in page.caption if c.value.startswith("Operating mode")]
    assert len(captions) == 1, captions
    assert captions[0].startswith("Operating mode washout (after fish) from ")
    assert "alarms are held" in captions[0]
    # The temperature chart has the mode's band: a rect layer (only the modes draw rects).
    charts = [c.proto.spec for c in page.get("vega_lite_chart")]
    assert any('"rect"' in spec for spec in charts)
