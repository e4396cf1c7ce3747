"""The Truck page in a real browser: no figure is cut to an ellipsis, no chart labels a time on
the 12-hour clock.

The trip id and the last reading's time were cut off ("TRIP-K…", "07 Dec …") in six narrow
columns. A value is whole when no element of it is wider inside than it shows (``scrollWidth``
<= ``clientWidth``). Data placed as in the AppTest page tests; a real ``logistream dashboard``
in Debian's Chromium, as in ``test_dashboard_reload.py``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, sync_playwright
from tests import dashboard_data as data
from tests.browser.test_dashboard_reload import _heading, _open, _sign_in, dashboard
from tests.helpers import CHROMIUM_ARGS, wait_until

from logistream.config import Settings

__all__ = ["dashboard"]

BROWSER_ZONE = "America/Lima"  # UTC-5, eight hours from Nairobi
WIDTHS = (1400, 1024)
"""A desktop window and a small laptop's (the sidebar open)."""

# For each metric: its label, its value text, and the values' elements that are cut (wider
# inside than shown), the value's own box included.
_CUT_METRICS = """
() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(metric => {
  const value = metric.querySelector('[data-testid="stMetricValue"]');
  const label = metric.querySelector('[data-testid="stMetricLabel"]');
  const boxes = value ? [value, ...value.querySelectorAll('*')] : [];
  return {
    label: label ? label.innerText.trim() : '',
    value: value ? value.innerText.trim() : '',
    cut: boxes.filter(b => b.scrollWidth > b.clientWidth + 1).length,
  };
})
"""


# The charts' axis labels, as drawn (Vega draws the dashboard's charts as SVG).
_AXIS_LABELS = """
() => [...document.querySelectorAll('.role-axis-label text')].map(t => t.textContent)
"""


def _time_labels(page: Page) -> list[str]:
    """The charts' time labels (``HH:MM`` or Vega's 12-hour ``09 AM``), once both are drawn."""
    labels: list[str] = page.evaluate(_AXIS_LABELS)
    times = [x for x in labels if re.fullmatch(r"\d{2}:\d{2}|\d{1,2} ?[AP]M", x)]
    return times if len(page.locator(".role-axis-label").all()) >= 4 else []


def _metrics(page: Page) -> list[dict[str, object]]:
    result: list[dict[str, object]] = page.evaluate(_CUT_METRICS)
    return result


def _figures_drawn(page: Page) -> list[dict[str, object]]:
    """The metrics once the trip's figures are on the page (empty until then)."""
    metrics = _metrics(page)
    wanted = {"Trip", "Last reading"}
    return metrics if wanted <= {str(m["label"]) for m in metrics} else []


def test_trip_last_reading_and_out_of_range_are_shown_whole(
    dashboard: str, settings: Settings, tmp_path: Path
) -> None:
    # The half hour of readings spans a full hour, where Vega's default label is "09 AM".
    now = time.time() // 3600 * 3600 + 900
    now = now if now <= time.time() else now - 3600
    data.place_live_views(settings, now)
    data.place_archive(settings, now)
    data.place_batch_views(settings, now)
    first, last = (
        datetime.fromtimestamp(t, UTC).astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
        for t in (now - 1800 - 60, now + 60)
    )  # the charts' span on the display zone's clock (no check across midnight)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        for width in WIDTHS:
            # A browser in another zone than the display zone: the page's clock must not follow it.
            page = browser.new_context(
                viewport={"width": width, "height": 1000}, timezone_id=BROWSER_ZONE
            ).new_page()
            _open(page, f"{dashboard}/truck?truck={data.HOT_TRUCK.replace(' ', '%20')}")
            _sign_in(page, "vic")
            _heading(page, "Truck")
            metrics = wait_until(lambda p=page: _figures_drawn(p), what="the truck's figures")
            shown = {str(m["label"]): m for m in metrics}
            assert shown["Trip"]["value"] == data.TRIP
            times = wait_until(lambda p=page: _time_labels(p), what="the charts' time labels")
            page.screenshot(path=tmp_path / f"truck-{width}.png", full_page=True)
            # Every figure whole, and the charts' times on the 24-hour clock like the figures'.
            problems = [f"cut off at {width} px: {m}" for m in metrics if m["cut"]]
            problems += [
                f"12-hour label beside 24-hour times: {t!r}"
                for t in times
                if not re.fullmatch(r"\d{2}:\d{2}", t)
            ]
            if "Out of range this trip" not in shown:
                problems.append("no time out of range for the trip")
            problems += [
                f"{t!r} outside the readings' {first}–{last} in {settings.timezone}"
                for t in times
                if first < last and not first <= t <= last
            ]
            assert not problems, problems
            assert any(t.endswith(":00") for t in times), times  # the full hour was labelled
            page.context.close()
        browser.close()
