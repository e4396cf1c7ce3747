"""Helpers (no tests) for the API's integration tests: tokens, the app in-process or as a real
`logistream api` server, and real `logistream bridge` processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient
from tests.helpers import LOGISTREAM, running, wait_until

from logistream.api.app import create_app
from logistream.api.options import ApiOptions
from logistream.api.token_store import create_token
from logistream.config import Settings
from logistream.schema.migrate import migrate

API = [sys.executable, "-m", "logistream.api"]


def prepare(settings: Settings, **scopes: list[str]) -> dict[str, str]:
    """Migrate the test database and create one token per ``name=[scopes]``."""
    assert settings.database_url
    migrate(settings, settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return {name: create_token(conn, name, wanted) for name, wanted in scopes.items()}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def api_client(settings: Settings, **options: Any) -> Iterator[TestClient]:
    """The app in-process (its lifespan opens real connections to the test's stores)."""
    app = create_app(settings, ApiOptions.model_validate(options))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@contextmanager
def bridge_process(env: dict[str, str], log: Path) -> Iterator[Any]:
    with running([LOGISTREAM, "bridge", "--batch-wait-ms", "50"], env, log, "bridge") as proc:
        yield proc


@contextmanager
def api_server(env: dict[str, str], port: int, log: Path, *extra: str) -> Iterator[str]:
    """A real `logistream api` (run as ``python -m logistream.api``) on ``port``."""
    argv = [*API, "--port", str(port), "--log-level", "warning", *extra]
    with running(argv, env, log, "logistream api") as proc:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.poll() is None, f"logistream api exited {proc.returncode}; see {log}"
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, what="logistream api to answer /health")
        yield base


def reading(truck_id: str, ts: float, temp: float, **extra: Any) -> dict[str, Any]:
    return {"truck_id": truck_id, "temp": temp, "timestamp": ts, **extra}


def fetch(settings: Settings, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return conn.execute(query.encode(), params or []).fetchall()


def run_api_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*API, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def sse_events(lines: Iterator[str], stop: Any, timeout_s: float) -> list[dict[str, Any]]:
    """Parse Server-Sent Events until ``stop(events)`` is true or ``timeout_s`` passes; each
    event gets ``received`` (wall clock)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if line == "":
            if "data" in current:
                current["received"] = time.time()
                current["json"] = json.loads(current["data"])
                events.append(current)
                if stop(events):
                    return events
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            current[key] = value.removeprefix(" ")
        if time.monotonic() > deadline:
            break
    return events
