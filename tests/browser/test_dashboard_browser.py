"""The running dashboard in headless Chromium (Debian's, driven by Playwright) over the real stack.

Real `logistream speed`, `bridge`, `simulate --scenario reefer_failure` and `dashboard`
processes. A dispatcher signs in, sees a known truck, the scenario's alert, acknowledges it
(checked in Redis and on truck_alerts under the dispatcher's name), opens the audits page, and
sees the health strip turn red when the speed layer stops. Screenshots go to a temporary folder,
or to LOGISTREAM_SCREENSHOTS_DIR (``make screenshots`` points it at docs/screenshots).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from confluent_kafka import Consumer
from playwright.sync_api import Page, expect, sync_playwright
from tests import dashboard_data as data
from tests.helpers import CHROMIUM_ARGS, LOGISTREAM, wait_until

from logistream import live_views
from logistream.config import Settings
from logistream.schema.migrate import migrate
from logistream.stack.process import free_port

SCENARIO_TRUCK = "KCK 293K"


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("wb")
    return subprocess.Popen([LOGISTREAM, *argv], env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture
def running(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> Iterator[dict[str, object]]:
    assert settings.database_url
    migrate(settings, settings.database_url)
    data.add_users(settings)
    processes = {
        "speed": _start("speed", ["speed"], settings_env, tmp_path),
        "bridge": _start("bridge", ["bridge"], settings_env, tmp_path),
        "simulator": _start(
            "simulator",
            ["simulate", "--scenario", "reefer_failure", "--speedup", "120", "--rate", "0.1"],
            settings_env,
            tmp_path,
        ),
    }
    port = free_port()
    processes["dashboard"] = _start(
        "dashboard", ["dashboard", "--port", str(port)], settings_env, tmp_path
    )
    try:
        yield {"url": f"http://127.0.0.1:{port}", "processes": processes, "env": settings_env}
    finally:
        for process in reversed(list(processes.values())):
            _stop(process)
        for name in processes:
            print(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()[-2000:]}")


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LOGISTREAM_SCREENSHOTS_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(data.PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


def _go(page: Page, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=30_000)


def _alert_changes(settings: Settings) -> list[dict[str, object]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"browser-test-{time.time()}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.topic_alerts])
    found = []
    idle_until = time.monotonic() + 8
    while time.monotonic() < idle_until:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            found.append(json.loads(message.value()))
            idle_until = time.monotonic() + 3
    consumer.close()
    return found


def test_the_control_room_in_a_real_browser(
    running: dict[str, object], settings: Settings, tmp_path: Path
) -> None:
    url = str(running["url"])
    processes = running["processes"]
    assert isinstance(processes, dict)
    shots = _shots(tmp_path)
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    wait_until(lambda: live_views.read_truck(client, SCENARIO_TRUCK), timeout=120, what="trucks")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        # A wrong password is refused.
        page.goto(url)
        page.get_by_label("Name").fill("dan")
        page.get_by_role("textbox", name="Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong name or password.")).to_be_visible(timeout=30_000)

        _sign_in(page, url, "dan")
        expect(page.get_by_role("heading", name="Live fleet")).to_be_visible(timeout=60_000)
        expect(page.locator("#pipeline-health[data-ok='true']")).to_be_visible(timeout=60_000)
        page.locator("canvas").first.wait_for(timeout=60_000)  # the deck.gl map
        expect(page.get_by_text("Positions as of")).to_be_visible()
        expect(page.get_by_text(SCENARIO_TRUCK).first).to_be_attached(timeout=60_000)
        page.wait_for_timeout(2500)
        page.screenshot(path=shots / "live-fleet.png", full_page=True)

        # The reefer failure's alert, acknowledged in the dispatcher's name.
        alert = wait_until(
            lambda: next(
                (a for a in live_views.read_open_alerts(client) if a.truck_id == SCENARIO_TRUCK),
                None,
            ),
            timeout=180,
            what="the reefer_failure alert",
        )
        assert alert.rule in ("temp_rising", "temp_high", "temp_critical", "tor_budget")
        _go(page, "Alerts")
        expect(page.get_by_role("button", name="Acknowledge as dan")).to_be_visible(timeout=30_000)
        expect(page.get_by_text(SCENARIO_TRUCK).first).to_be_attached(timeout=30_000)
        page.screenshot(path=shots / "alerts.png", full_page=True)
        page.get_by_label("Note (what is being done)").fill("Driver told to stop at the next depot")
        page.get_by_role("button", name="Acknowledge as dan").click()
        wait_until(
            lambda: [a for a in live_views.read_alerts(client) if a.acknowledged_by == "dan"],
            timeout=30,
            what="the acknowledgement applied by the speed layer",
        )
        expect(page.get_by_text("acknowledged by dan")).to_be_visible(timeout=30_000)
        # Its latest state in Redis (it may have resolved since, still naming who acknowledged).
        acked = [a for a in live_views.read_alerts(client) if a.acknowledged_by is not None]
        assert [(a.truck_id, a.acknowledged_by, a.ack_note) for a in acked] == [
            (SCENARIO_TRUCK, "dan", "Driver told to stop at the next depot")
        ]
        first = acked[0]
        changes = [c for c in _alert_changes(settings) if c["alert_id"] == first.alert_id]
        states = [(c["state"], c.get("acknowledged_by")) for c in changes]
        assert ("acknowledged", "dan") in states, states

        _go(page, "Truck")
        page.wait_for_timeout(2500)
        page.screenshot(path=shots / "truck.png", full_page=True)

        # The batch layer's verdict on the scenario's trips, as a quality manager sees it.
        env = running["env"]
        assert isinstance(env, dict)
        batch = subprocess.run(
            [LOGISTREAM, "batch"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert batch.returncode == 0, batch.stderr[-2000:]
        _go(page, "Audits")
        expect(page.get_by_text("Trips (").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text(re.compile(r"^Trips (pass|review|fail)$")).first).to_be_visible(
            timeout=60_000
        )
        page.screenshot(path=shots / "audits.png", full_page=True)

        _go(page, "Fleet analytics")
        expect(page.get_by_text("Suspected fuel thefts")).to_be_visible(timeout=30_000)
        page.screenshot(path=shots / "fleet-analytics.png", full_page=True)

        # Silence must not look like a quiet fleet: stopping the speed layer turns the strip red.
        _go(page, "Live fleet")
        assert _stop(processes["speed"]) == 0
        expect(page.locator("#pipeline-health[data-ok='false']")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Speed layer: no heartbeat").first).to_be_visible()
        page.screenshot(path=shots / "health-red.png", full_page=True)
        browser.close()
