"""A wrong LOGISTREAM_LOG_LEVEL stops each long-running command at start with one line naming
it, before it connects to anything."""

from __future__ import annotations

import os
import subprocess

import pytest
from tests.helpers import LOGISTREAM


@pytest.mark.parametrize("command", [["speed"], ["bridge"], ["notify"], ["api", "--port", "1"]])
def test_a_wrong_log_level_stops_the_command_with_one_line(command: list[str]) -> None:
    env = {**os.environ, "LOGISTREAM_LOG_LEVEL": "loud"}
    done = subprocess.run(
        [LOGISTREAM, *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "logistream: LOGISTREAM_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
        "(got 'loud')"
    )
