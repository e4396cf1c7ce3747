"""`logistream demo`: the whole product from one command, stopped cleanly by one Ctrl+C.

Runs in its own home on free ports (its own Kafka, PostgreSQL and Redis), as a user would.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
import psycopg
import redis

from helpers import wait_until
from logistream import live_views
from logistream.config import child_env, resolve_endpoints
from logistream.stack.manager import Stack
from logistream.stack.process import free_port, pid_alive
from logistream.stack.temporary import isolated_settings


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost
            return bool(response.status == 200)
    except OSError:
        return False


def test_demo_runs_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "home", kafka_heap="512m")
    env = child_env(settings)
    port, api_port = free_port(), free_port()
    out = (tmp_path / "demo.out").open("wb")
    demo = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("logistream")),
            "demo",
            "--port",
            str(port),
            "--api-port",
            str(api_port),
            "--speedup",
            "30",
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    stack = Stack(settings)
    try:
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/_stcore/health"),
            timeout=240,
            what="the dashboard",
        )
        endpoints = resolve_endpoints(settings)
        client = redis.Redis.from_url(endpoints.redis_url)
        wait_until(
            lambda: len(live_views.read_fleet(client)) >= 10,
            timeout=180,
            what="live trucks in Redis",
        )
        client.close()

        def archived() -> int:
            with psycopg.connect(endpoints.database_url) as conn:
                row = conn.execute("SELECT count(*) FROM readings").fetchone()
                return int(row[0]) if row else 0

        wait_until(lambda: archived() > 100, timeout=180, what="readings in the archive")
        with psycopg.connect(endpoints.database_url) as conn:
            assert conn.execute("SELECT role FROM users WHERE name = 'demo'").fetchone() == (
                "admin",
            )
        # The integration API answers with the token the demo printed.
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{api_port}/health"), timeout=120, what="the API"
        )
        found = re.search(r"token of 'demo' \(read, ack; new each run\): (\S+)",
                          (tmp_path / "demo.out").read_text())  # fmt: skip
        assert found, "the demo did not print the API token"
        answer = httpx.get(
            f"http://127.0.0.1:{api_port}/v1/trucks",
            headers={"Authorization": f"Bearer {found.group(1)}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["count"] >= 10
        server_pids = [s.pid for s in stack.status() if s.pid]
        assert len(server_pids) == 4

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=180) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
        out.close()
        printed = (tmp_path / "demo.out").read_text()
        print(printed[-4000:])
        stack.down()
        stack.postgres.destroy()
    assert f"LogiStream control room: http://localhost:{port}" in printed
    assert "Sign in as 'demo'" in printed
    for name in ("simulator", "speed", "bridge", "api", "dashboard"):
        assert f"stopped {name} (exit 0)" in printed, f"{name} did not stop cleanly"
    assert not [pid for pid in server_pids if pid_alive(pid)], "the servers it started must stop"
