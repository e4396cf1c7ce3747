"""The speed processor's pure parts: watermark, waiting acks, consumer lag. No server."""

from __future__ import annotations

import json

from logistream.events import AlertCommand
from logistream.speed.commands import PendingAcks
from logistream.speed.heartbeat import partition_lag
from logistream.speed.watermark import watermark


def _ack(alert_id: str, issued_at: float) -> AlertCommand:
    return AlertCommand(
        action="ack", alert_id=alert_id, truck_id="KBX 123A", by="Wanjiru", issued_at=issued_at
    )


def test_watermark_is_the_fleet_clock_minus_lateness_when_caught_up() -> None:
    wm = watermark(
        newest_event={0: 500.0}, backlogged=[], last_seen=[100.0, 200.0, 300.0], lateness_s=10.0
    )
    assert wm is not None
    assert wm < 300.0  # never the newest single truck: the fleet clock needs several


def test_a_backlogged_partition_holds_the_watermark_back_to_its_newest_event() -> None:
    last_seen = [1000.0, 1000.0, 1000.0, 1000.0]
    free = watermark(newest_event={0: 1000.0, 1: 400.0}, backlogged=[], last_seen=last_seen,
                     lateness_s=0.0)  # fmt: skip
    held = watermark(newest_event={0: 1000.0, 1: 400.0}, backlogged=[1], last_seen=last_seen,
                     lateness_s=0.0)  # fmt: skip
    assert free == 1000.0
    assert held == 400.0


def test_no_watermark_before_anything_is_known() -> None:
    assert watermark(newest_event={}, backlogged=[], last_seen=[1.0], lateness_s=0.0) is None
    # A backlog of a partition whose newest event time is not known yet.
    assert watermark(newest_event={0: 5.0}, backlogged=[1], last_seen=[5.0], lateness_s=0) is None
    assert watermark(newest_event={0: 5.0}, backlogged=[], last_seen=[], lateness_s=0.0) is None


def test_pending_acks_are_bounded_in_age_and_number() -> None:
    pending = PendingAcks(max_size=2, ttl_s=100.0)
    pending.remember(_ack("old", issued_at=0.0), now=500.0)
    assert "old" not in pending  # older than its time to live: dropped
    pending.remember(_ack("a", issued_at=450.0), now=500.0)
    pending.remember(_ack("b", issued_at=460.0), now=500.0)
    pending.remember(_ack("c", issued_at=470.0), now=500.0)
    assert len(pending) == 2
    assert "a" not in pending  # the oldest went to make room
    taken = pending.take("b")
    assert taken is not None
    assert taken.alert_id == "b"
    assert pending.take("b") is None


def test_partition_lag_reads_assigned_partitions_from_librdkafka_statistics() -> None:
    stats = {
        "topics": {
            "truck_telemetry": {
                "partitions": {
                    "0": {"consumer_lag": 12},
                    "1": {"consumer_lag": -1},
                    "2": {"consumer_lag": 7},
                    "-1": {"consumer_lag": 99},
                }
            }
        }
    }
    assert partition_lag(json.dumps(stats), "truck_telemetry", {0, 1}) == {0: 12, 1: 0}
    assert partition_lag(json.dumps(stats), "other", {0}) == {}
    assert partition_lag("not json", "truck_telemetry", {0}) == {}
