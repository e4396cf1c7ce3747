"""What a speed processor says about itself: progress counters, consumer lag, its heartbeat.

The heartbeat (written to Redis every second) is what ``logistream speed`` status, the dashboard
and the notifier's watchdog read to tell a live, caught-up processor from a stuck or dead one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from logistream import live_views as lv

log = logging.getLogger("logistream.speed")


@dataclass
class Progress:
    """Counts of this run and the position of the last record read."""

    processed: int = 0
    skipped: int = 0
    late: int = 0
    backfilled: int = 0
    """Late readings that filled a gap and went through the cargo-air rules."""
    last_partition: int | None = None
    last_offset: int | None = None
    last_record_ts: float | None = None
    last_event_ts: float | None = None


def partition_lag(raw_stats: str, topic: str, assigned: Collection[int]) -> dict[int, int]:
    """Records not yet consumed per assigned partition of ``topic``, from librdkafka's
    statistics JSON (negative lags count as 0; unreadable statistics give what was read)."""
    lag: dict[int, int] = {}
    try:
        stats = json.loads(raw_stats)
        parts = stats.get("topics", {}).get(topic, {}).get("partitions", {})
        for key, info in parts.items():
            p = int(key)
            if p >= 0 and p in assigned:
                lag[p] = max(int(info.get("consumer_lag", -1)), 0)
    except (ValueError, TypeError, AttributeError):
        log.debug("unreadable consumer statistics")
    return lag


def heartbeat_record(
    *,
    instance: str,
    topic: str,
    now: float,
    progress: Progress,
    assigned: Collection[int],
    lag: Mapping[int, int],
    watermark: float | None,
) -> lv.HeartbeatRecord:
    """The heartbeat of this moment; ``lag_s`` is the age of the last record while behind."""
    p = progress
    lag_records = sum(lag.values())
    lag_s = now - p.last_record_ts if lag_records and p.last_record_ts else 0.0
    return lv.HeartbeatRecord(
        instance=instance,
        at=now,
        pid=os.getpid(),
        host=socket.gethostname(),
        partitions=sorted(assigned),
        last_topic=topic,
        last_partition=p.last_partition,
        last_offset=p.last_offset,
        last_record_ts=p.last_record_ts,
        last_event_ts=p.last_event_ts,
        lag_records=lag_records,
        lag_s=lag_s,
        processed=p.processed,
        skipped=p.skipped,
        late=p.late,
        watermark=watermark,
    )
