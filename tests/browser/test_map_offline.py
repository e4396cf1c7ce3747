"""The live map asks no server but the dashboard: the Kenya outline is drawn offline, and no
basemap is fetched from the internet unless LOGISTREAM_MAP_STYLE_URL names one."""

from __future__ import annotations

import json
from urllib.parse import urlparse

from playwright.sync_api import Request, expect, sync_playwright
from tests import dashboard_data as data
from tests.browser.test_dashboard_reload import (  # the same real dashboard
    _heading,
    _open,
    _sign_in,
    dashboard,
)
from tests.helpers import CHROMIUM_ARGS

from logistream.config import Settings
from logistream.serving.map_view import basemap, kenya_deck

__all__ = ["dashboard"]  # a fixture, used by name
LOCAL = {"127.0.0.1", "localhost"}


def test_the_deck_keeps_pydecks_no_basemap_marker_unless_a_style_is_set() -> None:
    offline = json.loads(kenya_deck([], []).to_json())
    assert offline.get("mapProvider") is None
    assert offline["mapStyle"] == "__MAP_STYLE__"  # Streamlit then draws no basemap at all
    assert basemap("https://tiles.example/style.json") == {
        "map_provider": "carto",
        "map_style": "https://tiles.example/style.json",
    }


def test_the_live_page_requests_nothing_beyond_the_dashboard(
    dashboard: str, settings: Settings
) -> None:
    data.place_live_views(settings)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []

        def note(request: Request) -> None:
            host = urlparse(request.url).hostname
            if request.url.startswith(("http:", "https:")) and host not in LOCAL:
                outside.append(request.url)

        page.on("request", note)
        _open(page, f"{dashboard}/live")
        _sign_in(page, "dan")
        _heading(page, "Live fleet")
        expect(page.locator("canvas").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(5000)  # let the map ask for whatever it would ask for
        browser.close()
    assert outside == []
