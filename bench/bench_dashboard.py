"""Benchmark: the live page's refresh with 500 trucks live.

Two figures, medians of several runs, on the same servers:
- server: the live page's Redis read and render (Streamlit AppTest runs of the page, the same
  code the fragment runs every 2 s);
- browser: a real `logistream dashboard` in headless Chromium; every truck's view is rewritten
  through the speed layer's writer, and the time from the start of the next fragment refresh
  on the server to the browser showing the new map (its caption and a painted frame) is read
  from the page's ``#live-refresh`` marker (same clock: one machine).

Servers: LOGISTREAM_TEST_KAFKA_BOOTSTRAP / LOGISTREAM_TEST_DATABASE_URL / LOGISTREAM_TEST_REDIS_URL
(like the other benchmarks), else the local stack.

    python bench/bench_dashboard.py            # 500 trucks, 15 runs each
    python bench/bench_dashboard.py --smoke    # 500 trucks, 3 runs each
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

from logistream.config import Settings, get_settings, resolve_endpoints, to_env
from logistream.events import Reading
from logistream.live_views import HeartbeatRecord
from logistream.registry import load_registry
from logistream.schema.migrate import migrate
from logistream.serving import users
from logistream.speed.state import TruckState
from logistream.speed.views import ViewWriter
from logistream.stack.process import free_port

TRUCKS = 500
BRIDGE_PW = "bench-bridge-pw"
READER_PW = "bench-reader-pw"
LOGISTREAM = str(Path(sys.executable).parent / "logistream")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--enable-unsafe-swiftshader"]  # fmt: skip


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _settings() -> Settings:
    base = resolve_endpoints(get_settings())
    env = os.environ
    owner = env.get("LOGISTREAM_TEST_DATABASE_URL", base.database_url)
    database = f"bench_dash_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return Settings(
        kafka_bootstrap=env.get("LOGISTREAM_TEST_KAFKA_BOOTSTRAP", base.kafka_bootstrap),
        database_url=_with_path(owner, f"/{database}"),
        redis_url=_with_path(
            env.get("LOGISTREAM_TEST_REDIS_URL", base.redis_url), f"/{random.randrange(1, 256)}"
        ),
        database_name=database,
        bridge_db_password=BRIDGE_PW,
        reader_db_password=READER_PW,
    )  # fmt: skip


def _write_fleet(writer: ViewWriter, rng: random.Random, now: float) -> None:
    routes = list(load_registry().routes.values())
    states = []
    for i in range(TRUCKS):
        route = routes[i % len(routes)]
        a = route.waypoints[rng.randrange(len(route.waypoints))]
        reading = Reading(
            truck_id=f"KZA {i:03d}A", temp=rng.uniform(2, 9), timestamp=now,
            fuel=rng.uniform(20, 90), cargo="vaccines", speed_kmh=rng.uniform(0, 90),
            lat=a.lat + rng.uniform(-0.05, 0.05), lon=a.lon + rng.uniform(-0.05, 0.05),
        )  # fmt: skip
        states.append(TruckState(truck_id=reading.truck_id, last=reading))
    writer.write_batch(states, {}, [])
    writer.heartbeat(HeartbeatRecord(instance="bench", at=time.time()))


def _server_runs(settings: Settings, runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.environ.update(to_env(settings))
    get_settings.cache_clear()
    page = AppTest.from_string(
        "from logistream.serving.screens import live\nlive.render()\n", default_timeout=60
    )
    page.run()  # warm-up: imports, caches
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        page.run()
        out.append((time.perf_counter() - started) * 1000)
        assert not page.exception, page.exception
    return out  # fmt: skip


_WAIT_NEW_FRAME = """
async (previous) => {
  const marker = () => document.querySelector('#live-refresh');
  while (!marker() || marker().dataset.startedMs === previous) {
    await new Promise(r => setTimeout(r, 5));
  }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [marker().dataset.startedMs, Date.now()];
}
"""


def _browser_runs(
    settings: Settings, runs: int, writer: ViewWriter, rng: random.Random
) -> list[float]:
    from playwright.sync_api import sync_playwright

    assert settings.database_url
    with users.connect(settings.database_url) as conn:
        users.add_user(conn, "bench", "viewer", "bench-password")
    port = free_port()
    env = {**os.environ, **to_env(settings)}
    dashboard = subprocess.Popen([LOGISTREAM, "dashboard", "--port", str(port)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    out: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for _ in range(60):
                try:
                    page.goto(f"http://127.0.0.1:{port}")
                    break
                except Exception:
                    time.sleep(0.5)
            page.get_by_label("Name").fill("bench")
            page.get_by_role("textbox", name="Password").fill("bench-password")
            page.get_by_role("button", name="Sign in").click()
            page.locator("#live-refresh").wait_for(state="attached", timeout=60_000)
            previous = page.locator("#live-refresh").get_attribute("data-started-ms")
            for _ in range(runs + 1):
                _write_fleet(writer, rng, time.time())
                started_ms, shown_ms = page.evaluate(_WAIT_NEW_FRAME, previous)
                previous = started_ms
                out.append(float(shown_ms) - float(started_ms))
            browser.close()
    finally:
        dashboard.send_signal(signal.SIGTERM)
        dashboard.wait(timeout=30)
    return out[1:]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="3 runs each instead of 15")
    args = parser.parse_args()
    runs = 3 if args.smoke else 15
    rng = random.Random(7)
    settings = _settings()
    assert settings.database_url
    assert settings.redis_url
    try:
        migrate(settings, settings.database_url)
        client = redis.Redis.from_url(settings.redis_url)
        client.flushdb()
        writer = ViewWriter(client)
        _write_fleet(writer, rng, time.time())
        server = _server_runs(settings, runs)
        browser = _browser_runs(settings, runs, writer, rng)
        client.flushdb()
    finally:
        owner = os.environ.get("LOGISTREAM_TEST_DATABASE_URL") or _with_path(
            settings.database_url, "/postgres"
        )
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(settings.database_name)
                )
            )
    print(f"trucks live: {TRUCKS}, runs: {runs}")
    for name, values in (("server read+render", server), ("browser shows the new map", browser)):
        print(
            f"{name}, median: {statistics.median(values):.0f} ms "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )
    print("goal: under 500 ms each; a change also waits 0-2 s for the next 2 s refresh")
    return 0  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
