"""A shipment through the running dashboard in headless Chromium, over the real stack.

Real `logistream speed`, `bridge` and `dashboard` processes. A dispatcher creates the example
shipment by uploading its file on the Shipments page; the truck's readings inside the origin's
fence go through the real speed layer (Kafka → speed → Redis) and the page shows the shipment at
its origin, with the stage event in its timeline; a user of the receiving organisation signs for
a lot (stored in ``shipment_pod``); the signed shipment report is issued from the page (as
`logistream report shipment` issues it) and downloaded as PDF and JSON. Screenshots of the
Shipments page and of a shipment's page go to a temporary folder, or to
LOGISTREAM_SCREENSHOTS_DIR (``make screenshots``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import psycopg
import pytest
import redis
from playwright.sync_api import Page, expect, sync_playwright
from tests import dashboard_data as data
from tests.browser.test_dashboard_browser import _start, _stop
from tests.browser.test_dashboard_reload import _open, _sign_in
from tests.helpers import CHROMIUM_ARGS, wait_until
from tests.integration.speed_support import produce, reading

from logistream import live_views
from logistream.config import Settings
from logistream.schema.migrate import migrate
from logistream.serving import users
from logistream.shipments.publish import ensure_topic
from logistream.stack.process import free_port

TRUCK = "KCB 781C"
SHIPMENT = "SHP-2026-0118"
ORIGIN = {"lat": -1.2864, "lon": 36.8172}
RECEIVER = ("wanjiku", "wanjiku-password-1")


@pytest.fixture
def running(settings: Settings, settings_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    data.add_users(settings)
    with users.connect(settings.database_url) as conn:
        users.add_organisation(conn, "moh-western", "receiver")
        users.add_user(conn, RECEIVER[0], "viewer", RECEIVER[1], "moh-western")
    # The speed layer reads the shipments topic from its start: it must exist by then.
    ensure_topic(settings)
    port = free_port()
    processes = {
        "speed": _start("speed", ["speed"], settings_env, tmp_path),
        "bridge": _start("bridge", ["bridge"], settings_env, tmp_path),
        "dashboard": _start(
            "dashboard", ["dashboard", "--port", str(port)], settings_env, tmp_path
        ),
    }
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in reversed(list(processes.values())):
            _stop(process)
        for name in processes:
            print(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()[-2000:]}")


def _text_after_reloads(page: Page, text: str, timeout_s: float) -> None:
    # The list is read once per run of the page: reload until the speed layer's state shows.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            expect(page.get_by_text(text).first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def test_create_watch_it_reach_its_origin_sign_for_a_lot_and_download_the_report(
    running: str, settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    example = resources.files("logistream.shipments") / "examples" / "vaccines_kisumu.toml"
    shots = Path(os.environ.get("LOGISTREAM_SCREENSHOTS_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        _open(page, f"{running}/shipments")
        _sign_in(page, "dan")
        page.get_by_text("New shipment (from a TOML or JSON shipment file)").click()
        with resources.as_file(example) as path:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
        # The button reads the upload: click once the file is on the server.
        expect(page.get_by_text("vaccines_kisumu.toml")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Create shipment").click()
        expect(page.get_by_text(f"Shipment {SHIPMENT} created")).to_be_visible(timeout=60_000)

        # Ten minutes of readings inside the origin's fence, in range: loading, pre-cooled.
        start = time.time() - 900
        inside = [
            reading(TRUCK, start + 60 * i, 5.0, probe_id=probe, cargo="vaccines", **ORIGIN)
            for i in range(11)
            for probe in ("front", "rear")
        ]
        produce(settings, [(TRUCK, value) for value in inside])
        _text_after_reloads(page, "at origin (loading) · Nairobi central vaccine store", 90)
        page.wait_for_timeout(2000)  # the map's layers drawn
        page.screenshot(path=shots / "shipments.png")
        views = live_views.RedisLiveViews(redis.Redis.from_url(settings.redis_url or ""))
        assert [(e.stage, e.stop, e.cause) for e in views.stage_events(SHIPMENT)] == [
            ("at_origin", 0, "geofence")
        ]

        # The receiver's user signs for the first lot at Kisumu.
        receiver = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        ).new_page()
        _open(receiver, f"{running}/shipments?shipment={SHIPMENT}")
        expect(receiver.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
        receiver.get_by_label("Name").fill(RECEIVER[0])
        receiver.get_by_role("textbox", name="Password").fill(RECEIVER[1])
        receiver.get_by_role("button", name="Sign in").click()
        receiver.get_by_label("Printed name").fill("Wanjiku Otieno")
        receiver.get_by_label("Note").fill("seals intact")
        receiver.get_by_role("button", name="Sign for the lot").click()
        expect(receiver.get_by_text("Lot MR-2611 accepted")).to_be_visible(timeout=60_000)
        receiver.get_by_role("heading", name=f"KEMSA/EPI/2026/118 — {SHIPMENT}").first.click()
        receiver.locator('[data-testid="stDeckGlJsonChart"]').first.scroll_into_view_if_needed()
        receiver.wait_for_timeout(2000)  # the map's layers drawn
        receiver.screenshot(path=shots / "shipment.png")
        with psycopg.connect(settings.database_url or "") as conn:
            pod = conn.execute(
                "SELECT lot_number, stop_id, decision, recorded_by, signer_name FROM shipment_pod"
            ).fetchall()
        assert pod == [("MR-2611", "kisumu-depot", "accepted", "wanjiku", "Wanjiku Otieno")]

        # The signed report, issued as `logistream report shipment` issues it, downloaded.
        wait_until(lambda: _archived(settings), timeout=60, what="the readings archived")
        receiver.get_by_role("button", name="Get the signed shipment report").click()
        downloaded = {}
        for fmt in ("PDF", "JSON"):
            button = receiver.get_by_role("button", name=f"Shipment report ({fmt})")
            expect(button).to_be_visible(timeout=60_000)
            with receiver.expect_download() as download:
                button.click()
            downloaded[fmt] = Path(download.value.path()).read_bytes()
        assert downloaded["PDF"].startswith(b"%PDF")
        report = json.loads(downloaded["JSON"])
        assert (report["shipment_id"], report["version"]) == (SHIPMENT, 1)
        lots = {lot["lot"]: lot for lot in report["lots"]}
        assert lots["MR-2611"]["proof_of_delivery"]["decision"] == "accepted"
        with psycopg.connect(settings.database_url or "") as conn:
            stored = conn.execute("SELECT version, digest FROM shipment_report_versions").fetchall()
        assert stored == [(1, report["digest"])]
        browser.close()


def _archived(settings: Settings) -> bool:
    with psycopg.connect(settings.database_url or "") as conn:
        row = conn.execute("SELECT count(*) FROM readings WHERE truck_id = %s", [TRUCK]).fetchone()
    return row is not None and row[0] >= 22
