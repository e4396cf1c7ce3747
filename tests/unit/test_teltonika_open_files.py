"""The Teltonika gateway's open-file limit: raised to the hard one at start (each device holds a
socket), and one error line when even the hard limit is too few for the registry's devices.

Each case runs in a child process with a lowered limit, so the test process keeps its own."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

PROBE = """
import resource
from logistream.ingest.teltonika_gateway import raise_open_file_limit
print(raise_open_file_limit({devices}))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def _run(soft: int, hard: int, devices: int) -> list[str]:
    current = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if current != resource.RLIM_INFINITY and current < hard:
        pytest.skip(f"the hard open-file limit here is {current}")

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(devices=devices)],
        capture_output=True, text=True, check=True, timeout=60,
        preexec_fn=lower,
    )  # fmt: skip
    return done.stdout.splitlines()


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    assert _run(256, 2048, devices=1000) == ["None", "2048"]


def test_a_hard_limit_too_low_for_the_registry_gives_one_error_line() -> None:
    problem, soft = _run(256, 512, devices=1000)
    assert soft == "512"
    assert problem.startswith("open-file limit 512: room for about 448 device connections, ")
    assert "the registry has 1,000 Teltonika devices" in problem
    assert "LimitNOFILE=" in problem
