"""A wrong LOGISTREAM_TIMEZONE, or a LOGISTREAM_REGISTRY_DIR that does not exist, stops each
command at start with one line naming the variable, before it connects to anything.

The servers named are unreachable on purpose: a command that did not check its settings at start
would end some other way (a connection error, a traceback, a timeout), not in the one line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.helpers import LOGISTREAM

COMMANDS = [
    ["simulate"],
    ["speed"],
    ["bridge"],
    ["notify"],
    ["notify", "test-route", "--truck", "KCK 293K"],
    ["api", "--port", "1"],
    ["api", "token", "list"],
    ["migrate"],
    ["batch"],
    ["dashboard", "--port", "1"],
    ["stack", "status"],
    ["alerts"],
    ["alerts", "ack", "0123", "--by", "Wanjiru"],
    ["report", "trip", "KBX123A-1", "--format", "json"],
    ["report", "fleet", "--from", "2025-03-01", "--to", "2025-03-02", "--format", "json"],
    ["users", "list"],
]


def _run(command: list[str], tmp_path: Path, **setting: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTREAM_")} | {
        "LOGISTREAM_HOME": str(tmp_path / "home"),
        "LOGISTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:9",
        "LOGISTREAM_DATABASE_URL": "postgresql://nobody:x@127.0.0.1:9/none",
        "LOGISTREAM_REDIS_URL": "redis://127.0.0.1:9/0",
        **setting,
    }
    return subprocess.run(
        [LOGISTREAM, *command], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_time_zone_stops_the_command_with_one_line(
    command: list[str], tmp_path: Path
) -> None:
    done = _run(command, tmp_path, LOGISTREAM_TIMEZONE="Africa/Nairobbi")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "logistream: LOGISTREAM_TIMEZONE: 'Africa/Nairobbi' is not a time zone name; use an "
        "IANA name such as Africa/Nairobi or UTC (got 'Africa/Nairobbi')"
    ]
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_registry_folder_stops_the_command_with_one_line(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "my-registry"
    done = _run(command, tmp_path, LOGISTREAM_REGISTRY_DIR=str(missing))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"logistream: LOGISTREAM_REGISTRY_DIR: no folder {missing}; create it with your "
        "cargo.toml, routes.toml and fleet.toml, or unset it to use the shipped registry "
        f"(got '{missing}')"
    ]
    assert not (tmp_path / "home").exists()
