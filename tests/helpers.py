"""Small helpers shared by the tests: bounded waits and seeded randomness that is printed."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
