"""Reloads and deep links in a real browser: a signed-in user stays signed in, every page has a URL.

Only the real archive (PostgreSQL, for the accounts) and a real ``logistream dashboard`` process
are needed: the pages' data may be empty, their headings are what is checked. Chromium is
Debian's, driven by Playwright, as in ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from tests import dashboard_data as data
from tests.helpers import CHROMIUM_ARGS, LOGISTREAM, wait_until

from logistream.config import Settings
from logistream.schema.migrate import migrate
from logistream.stack.process import free_port

COOKIE = "logistream_session"


@pytest.fixture
def dashboard(settings: Settings, settings_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    data.add_users(settings)
    port = free_port()
    log_path = tmp_path / "dashboard.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LOGISTREAM, "dashboard", "--port", str(port)],
            env=settings_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"--- dashboard log ---\n{log_path.read_text()[-3000:]}")


def _open(page: Page, url: str) -> None:
    # The dashboard process may still be starting: retry until its first page answers.
    deadline = time.monotonic() + 60
    while True:
        try:
            page.goto(url)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _sign_in(page: Page, name: str) -> None:
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
    page.get_by_label("Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(data.PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


def _heading(page: Page, title: str) -> None:
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=60_000)


def _session_cookie(context: BrowserContext) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE), None)


def test_reload_keeps_the_user_signed_in_and_deep_links_open_their_page(dashboard: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()

        # Signed out, a deep link asks for the password, then opens the page it names.
        _open(page, f"{dashboard}/alerts")
        _sign_in(page, "dan")
        _heading(page, "Alerts")
        assert page.url.rstrip("/").endswith("/alerts"), page.url
        expect(page.get_by_text("Page not found")).to_have_count(0)
        expect(page.get_by_text("URL path")).to_have_count(0)  # no stray script text

        # Reloading keeps the user signed in, on the same page.
        wait_until(lambda: _session_cookie(context), timeout=30, what="the session cookie")
        token = _session_cookie(context)
        assert token is not None
        assert data.PASSWORDS["dan"] not in token
        page.reload()
        _heading(page, "Alerts")
        expect(page.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
        expect(page.get_by_text("Page not found")).to_have_count(0)

        # A deep link to another page, signed in, opens that page.
        page.goto(f"{dashboard}/audits")
        _heading(page, "Audits")
        expect(page.get_by_role("button", name="Sign in")).to_have_count(0)

        # Signing out ends the session: a reload asks for the password again, and the old
        # token no longer opens a page even when a browser sends it back.
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        wait_until(lambda: _session_cookie(context) is None, timeout=30, what="the cookie cleared")
        page.reload()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
        context.add_cookies([{"name": COOKIE, "value": token, "url": dashboard}])
        page.goto(f"{dashboard}/alerts")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)

        # A viewer's deep link to the admins' Users page says why, rather than "Page not found".
        viewer = browser.new_context().new_page()
        _open(viewer, f"{dashboard}/users")
        _sign_in(viewer, "vic")
        expect(viewer.get_by_text("Only administrators manage users")).to_be_visible(timeout=60_000)
        expect(viewer.get_by_text("Page not found")).to_have_count(0)

        # An admin's deep link to Users opens it, and survives a reload.
        admin = browser.new_context().new_page()
        _open(admin, f"{dashboard}/users")
        _sign_in(admin, "ann")
        _heading(admin, "Users")
        wait_until(lambda: _session_cookie(admin.context), timeout=30, what="ann's cookie")
        admin.reload()
        _heading(admin, "Users")
        expect(admin.get_by_role("button", name="Sign in")).to_have_count(0)
        browser.close()
