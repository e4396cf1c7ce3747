"""``logistream simulate --dry-run``: JSON lines, the same bytes for the same seed and start."""

from __future__ import annotations

import subprocess
import time

from tests.helpers import LOGISTREAM

from logistream.events import decode_reading
from logistream.ingest.cli import parse_start


def _dry(*args: str) -> list[bytes]:
    done = subprocess.run(
        [LOGISTREAM, "simulate", "--dry-run", *args], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.splitlines()


def test_dry_run_writes_valid_readings_reproducibly() -> None:
    args = (
        "--trucks",
        "3",
        "--duration",
        "60",
        "--seed",
        "5",
        "--start",
        "2025-03-03T06:00:00+03:00",
    )
    first = _dry(*args, "--scenario", "none")
    assert len(first) == 180
    assert first == _dry(*args, "--scenario", "none")
    for line in first:
        reading = decode_reading(line)
        assert reading.truck_id in {"KBX 123A", "KCA 452B", "KCB 781C"}


def test_default_start_keeps_event_time_behind_the_wall_clock() -> None:
    before = time.time()
    lines = _dry("--trucks", "2", "--duration", "120", "--scenario", "none")
    newest = max(decode_reading(line).timestamp for line in lines)
    assert newest <= before
    assert parse_start(None, None, "Africa/Nairobi") <= time.time() - 86_000
    assert parse_start("2025-03-03T06:00:00", None, "Africa/Nairobi") == parse_start(
        "2025-03-03T03:00:00+00:00", None, "UTC"
    )
