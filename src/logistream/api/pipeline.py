"""Pipeline health (pure): silence must never look like a quiet fleet, so no heartbeat, or an
old one, is not ok."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from logistream.live_views import Heartbeat
from logistream.reads.heartbeats import BridgeBeat

# The speed layer beats every second, the bridge with every commit and every 5 s when idle.
STALE_SPEED_S: Final = 10.0
STALE_BRIDGE_S: Final = 30.0
LAGGING_S: Final = 60.0


def speed_state(beats: Sequence[Heartbeat]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [
        {
            "instance": b.instance,
            "age_s": round(b.age_s, 3),
            "lag_records": b.lag_records,
            "lag_s": b.lag_s,
            "processed": b.record.processed,
            "partitions": list(b.record.partitions),
        }
        for b in beats
    ]
    live = [b for b in beats if b.age_s <= STALE_SPEED_S]
    if not beats:
        return {"ok": False, "detail": "speed layer: no heartbeat; it is not running"}, rows
    if not live:
        age = min(b.age_s for b in beats)
        return {
            "ok": False,
            "detail": f"speed layer stalled: last heartbeat {age:.0f} s ago",
        }, rows
    lag = max(b.lag_s for b in live)
    if lag > LAGGING_S:
        return {"ok": False, "detail": f"speed layer {lag:.0f} s behind Kafka"}, rows
    return {"ok": True, "detail": f"speed layer: {len(live)} process(es), lag {lag:.1f} s"}, rows


def bridge_state(
    beats: Sequence[BridgeBeat], now: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out: list[dict[str, Any]] = [
        {
            "instance": b.instance,
            "age_s": round(max(0.0, now - b.last_commit_at), 3),
            "lag_messages": b.lag_messages,
            "lag_seconds": b.lag_seconds,
            "total_messages": b.total_messages,
        }
        for b in beats
    ]
    if not out:
        return {"ok": False, "detail": "bridge: no heartbeat; the archive is not growing"}, out
    age = min(r["age_s"] for r in out)
    if age > STALE_BRIDGE_S:
        return {"ok": False, "detail": f"bridge stalled: last commit {age:.0f} s ago"}, out
    lags = [r["lag_messages"] for r in out if r["lag_messages"] is not None]
    lag = f", lag {max(lags)} messages" if lags else ""
    return {"ok": True, "detail": f"bridge: {len(out)} process(es){lag}"}, out
