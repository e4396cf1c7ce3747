"""The Alerts page after an acknowledgement in a real browser: the picker moves on to the alert
still waiting and the result stays on screen.

A real ``logistream dashboard`` in Debian's Chromium (as in ``test_dashboard_reload.py``); the
acknowledgement goes to the real ``alert_commands`` topic and is applied with the speed layer's
own step and writer (``speed_applies_acks`` of the AppTest version of this test).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from tests import dashboard_data as data
from tests.browser.test_dashboard_reload import _heading, _open, _sign_in, dashboard
from tests.helpers import CHROMIUM_ARGS, wait_until
from tests.integration.test_alerts_page_after_ack import speed_applies_acks

from logistream.config import Settings

__all__ = ["dashboard"]


def test_the_picker_moves_on_and_the_result_stays(
    dashboard: str, settings: Settings, tmp_path: Path
) -> None:
    data.place_live_views(settings)
    with sync_playwright() as playwright, speed_applies_acks(settings) as applied:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
        _open(page, f"{dashboard}/alerts")
        _sign_in(page, "dan")
        _heading(page, "Alerts")
        picker = page.get_by_role("combobox", name="Alert")
        expect(picker).to_have_value(re.compile(data.HOT_TRUCK), timeout=60_000)  # major first

        page.get_by_label("Note (what is being done)").fill("Driver told to stop at Voi depot")
        page.get_by_role("button", name="Acknowledge as dan").click()
        wait_until(lambda: applied == ["a-hot-1"], timeout=30, what="the acknowledgement applied")
        expect(page.get_by_text(f"{data.HOT_TRUCK} temp_high: acknowledged by dan.")).to_be_visible(
            timeout=30_000
        )
        expect(picker).to_have_value(re.compile(data.COOL_TRUCK), timeout=30_000)
        page.wait_for_timeout(3000)  # the tables' next refresh, with the acknowledged state
        expect(page.get_by_text("acknowledged by dan.")).to_be_visible()
        page.screenshot(path=tmp_path / "alerts-after-ack.png", full_page=True)
        browser.close()
