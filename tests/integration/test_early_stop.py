"""A stop during start-up is a clean stop: long-running commands exit 0 on an early SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from tests.helpers import LOGISTREAM


@pytest.mark.parametrize("command", ["speed", "bridge", "simulate", "notify"])
@pytest.mark.parametrize("after_s", [0.3, 1.5])
def test_sigterm_during_start_up_exits_zero(
    command: str, after_s: float, settings_env: dict[str, str]
) -> None:
    # The notifier needs its link-signing secret to start at all.
    env = {**settings_env, "LOGISTREAM_NOTIFY_ACK_SECRET": "early-stop-test-secret-0123456789"}
    process = subprocess.Popen(
        [LOGISTREAM, command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    time.sleep(after_s)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
