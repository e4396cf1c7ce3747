"""``logistream pgadmin``: pgAdmin 4 from PyPI in its own virtualenv, LogiStream pre-registered.

The virtualenv (``build/pgadmin-venv``, or LOGISTREAM_PGADMIN_VENV) is installed once and
reused: the first run of this test spends about a minute on pip.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.helpers import LOGISTREAM, wait_until

from logistream.config import Settings
from logistream.stack.process import free_port

# pgAdmin's virtualenv is installed before `logistream pgadmin` starts, by one worker only.
pytestmark = pytest.mark.usefixtures("pgadmin_installed")


def _login_page(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
            return str(answer.read().decode("utf-8", "replace"))
    except OSError:
        return None


def test_pgadmin_answers_with_its_login_page_and_the_archive_registered(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **settings_env,
        "LOGISTREAM_PGADMIN_EMAIL": "dba@logistream.co.ke",
        "LOGISTREAM_PGADMIN_PASSWORD": "pgadmin-test-pw",
    }
    log = (tmp_path / "pgadmin.log").open("wb")
    process = subprocess.Popen(
        [LOGISTREAM, "pgadmin", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        page = wait_until(lambda: _login_page(port), timeout=600, interval=1, what="pgAdmin login")
        assert "pgAdmin" in page
        data = settings.home.resolve() / "pgadmin"
        with sqlite3.connect(data / "pgadmin4.db") as db:
            servers = db.execute("SELECT name, host, port, maintenance_db FROM server").fetchall()
        assert settings.database_url
        url = urlsplit(settings.database_url)
        assert servers == [("LogiStream archive", url.hostname, url.port, settings.database_name)]
        # Registered read-only, with a password file where pgAdmin (server mode) reads it.
        with sqlite3.connect(data / "pgadmin4.db") as db:
            (username, params), *_ = db.execute("SELECT username, connection_params FROM server")
        assert username == "logistream_reader"
        assert json.loads(params)["passfile"] == "logistream.pgpass"
        passfile = data / "storage" / "dba_logistream.co.ke" / "logistream.pgpass"
        assert passfile.read_text().rstrip("\n").endswith(":logistream_reader:reader-test-pw")
        assert passfile.stat().st_mode & 0o077 == 0, "the password file is private"
        assert not (data / "pgpass").exists(), "no file with the owner's password"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print((tmp_path / "pgadmin.log").read_text()[-3000:])
