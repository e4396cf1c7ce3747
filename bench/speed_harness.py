"""The speed-layer benchmarks' shared harness: run a processor in its own process until it has
taken a given number of readings, and wait until it has joined its consumer group.

A benchmark subclasses ``SpeedProcessor`` to time what it measures (``_write_views``), then
hands the instance to :func:`run_until_taken`; :func:`wait_joined` reads the processor's
heartbeat in Redis, as ``logistream status`` does.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

from logistream.config import Settings

if TYPE_CHECKING:
    from logistream.speed.stream_processor import SpeedProcessor


def run_until_taken(proc: SpeedProcessor, total: int) -> None:
    """Run ``proc`` (blocking) and stop it once it has taken ``total`` readings: processed,
    late or skipped."""

    def watch() -> None:
        while True:
            p = proc.progress
            if p.processed + p.late + p.skipped >= total:
                proc.stop()
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    proc.run()


def wait_joined(settings: Settings, instance: str, timeout: float) -> None:
    """Until the processor ``instance`` has joined its group (its heartbeat names partitions)."""
    import redis

    client = redis.Redis.from_url(settings.redis_url or "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = client.hget("ls:speed:heartbeats", instance)
        if raw and json.loads(raw).get("partitions"):
            return
        time.sleep(0.1)
    raise SystemExit("the speed processor did not join its group in time")
