"""pgAdmin in headless Chromium: the archive that ``logistream pgadmin`` registers opens.

A real ``logistream pgadmin`` over the test's real PostgreSQL database, with a few readings in
it. The DBA signs in, expands the registered server (it must connect without a password
prompt), opens the Query Tool on the archive and runs a SELECT on ``readings``: the rows are
shown. The pgAdmin virtualenv is installed once (``build/pgadmin-venv``): a first run spends a few
minutes on pip.
"""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Frame, Page, expect, sync_playwright
from tests.helpers import LOGISTREAM, wait_until

from logistream.config import Settings
from logistream.schema.migrate import migrate
from logistream.stack.process import free_port

# pgAdmin's virtualenv is installed before `logistream pgadmin` starts, by one worker only.
pytestmark = pytest.mark.usefixtures("pgadmin_installed")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
EMAIL = "dba@logistream.co.ke"
PASSWORD = "pgadmin-test-pw"
TRUCKS = ("KCK 293K", "KDA 101B", "KBZ 777Q")


def _frame(page: Page, url_part: str, timeout_s: float = 60) -> Frame:
    """The page's frame whose URL has ``url_part`` (polled through Playwright, which keeps
    its view of the page current only while it is called)."""
    for _ in range(int(timeout_s * 2)):
        found = next((f for f in page.frames if url_part in f.url), None)
        if found is not None:
            return found
        page.wait_for_timeout(500)
    raise AssertionError(f"no frame of {url_part} after {timeout_s:.0f} s: {page.frames}")


def _login_page(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
            return str(answer.read().decode("utf-8", "replace"))
    except OSError:
        return None


@pytest.fixture
def pgadmin_url(settings: Settings, settings_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT ensure_reading_partition(current_date)")
        for n, truck in enumerate(TRUCKS):
            conn.execute(
                "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition,"
                " source_offset) VALUES (%s, now(), %s, 4.5, 0, %s)",
                (f"pgadmin-test-{n}", truck, n),
            )
    port = free_port()
    env = {
        **settings_env,
        "LOGISTREAM_PGADMIN_EMAIL": EMAIL,
        "LOGISTREAM_PGADMIN_PASSWORD": PASSWORD,
    }
    log_path = tmp_path / "pgadmin.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [LOGISTREAM, "pgadmin", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: _login_page(port), timeout=900, interval=1, what="pgAdmin login")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"--- pgadmin log ---\n{log_path.read_text()[-3000:]}")


def test_the_registered_archive_opens_in_pgadmin_and_shows_readings(
    pgadmin_url: str, settings: Settings, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{pgadmin_url}/login")
            page.get_by_placeholder("Email Address / Username").fill(EMAIL)
            page.get_by_placeholder("Password").fill(PASSWORD)
            page.get_by_role("button", name="Login").click()

            # Expanding the registered server connects it: no password dialog may come up.
            tree = page.get_by_role("tabpanel", name="Object Explorer")
            group = tree.get_by_text(re.compile(r"^LogiStream( \(\d+\))?$"))
            expect(group).to_be_visible(timeout=120_000)
            server = tree.get_by_text("LogiStream archive", exact=True)
            if not server.is_visible():
                group.dblclick()
            expect(server).to_be_visible(timeout=30_000)
            server.dblclick()
            connected = page.get_by_text("Server sessions")  # the connected server's dashboard
            prompt = page.get_by_text("Connect to Server")
            expect(connected.or_(prompt).first).to_be_visible(timeout=60_000)
            page.screenshot(path=tmp_path / "pgadmin-connected.png")
            assert not prompt.is_visible(), "pgAdmin asked for the archive's password"
            databases = tree.get_by_text(re.compile(r"^Databases( \(\d+\))?$"))
            if not databases.is_visible():
                server.dblclick()
            expect(databases).to_be_visible(timeout=30_000)

            # The archive's database (the only one listed); its Query Tool runs a SELECT on
            # readings and shows the rows.
            databases.dblclick()
            archive = tree.get_by_text(settings.database_name, exact=True)
            expect(archive).to_be_visible(timeout=30_000)
            archive.click()
            expect(tree.get_by_text("postgres", exact=True)).to_have_count(0)
            page.get_by_role("button", name="Tools").click()
            page.get_by_role("menuitem", name="Query Tool").click()
            # pgAdmin opens its tools in an iframe of their own.
            tool = _frame(page, "/sqleditor/")
            editor = tool.locator(".cm-content").first
            expect(editor).to_be_visible(timeout=60_000)
            page.screenshot(path=tmp_path / "pgadmin-query-tool.png")
            editor.click()
            page.keyboard.type("SELECT truck_id, temp FROM readings ORDER BY truck_id;")
            page.keyboard.press("F5")
            for truck in TRUCKS:
                expect(tool.get_by_text(truck, exact=True).first).to_be_visible(timeout=60_000)
            expect(tool.get_by_text(re.compile(r"Total rows: 3\b"))).to_be_visible(timeout=30_000)
        finally:
            page.screenshot(path=tmp_path / "pgadmin.png", full_page=True)
            print(f"screenshot: {tmp_path / 'pgadmin.png'}")
            browser.close()
