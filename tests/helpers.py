"""Small helpers shared by the tests: bounded waits, seeded randomness that is printed, and
long-running commands run as real subprocesses."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

LOGISTREAM = str(Path(sys.executable).parent / "logistream")
"""The `logistream` command of the virtualenv the tests run in."""
# Debian's Chromium under Playwright, headless on a machine without a GPU or internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]


def wait_until(
    check: Callable[[], T], timeout: float = 60.0, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})"
            )
        time.sleep(interval)
        last = check()
    return last


def seeded_random(name: str) -> random.Random:
    """A generator whose seed is printed (and can be fixed with LOGISTREAM_TEST_SEED) to replay."""
    seed = int(os.environ.get("LOGISTREAM_TEST_SEED", str(random.SystemRandom().randrange(2**32))))
    print(f"{name}: seed={seed} (replay with LOGISTREAM_TEST_SEED={seed})")
    return random.Random(seed)


def stop_cleanly(proc: subprocess.Popen[bytes], name: str, log: Path | None = None) -> None:
    """SIGTERM a long-running command, which must exit 0 within 60 s (killed otherwise)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    tail = f":\n{log.read_text(errors='replace')[-3000:]}" if log and log.exists() else ""
    assert code == 0, f"{name} exited {code} on SIGTERM{tail}"


@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path | None, name: str) -> Iterator[Any]:
    """``argv`` as a subprocess writing to ``log`` (or nowhere); stopped by ``stop_cleanly``."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]  # the child keeps its own descriptor
    try:
        yield proc
    finally:
        stop_cleanly(proc, name, log)
