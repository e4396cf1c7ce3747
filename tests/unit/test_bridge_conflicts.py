"""Pure part of the one-row-per-event-id rule: the refusal's sentence and the batch's sources."""

from __future__ import annotations

import json

from logistream import events
from logistream.batch.records import Consumed, conflicting_duplicate, sort_batch


def _msg(offset: int, value: bytes | None) -> Consumed:
    return Consumed("tel", 1, offset, b"K", value, 1_767_229_200_000)


def test_a_conflicting_duplicate_names_the_id_and_both_timestamps() -> None:
    refused = conflicting_duplicate(_msg(9, b"{}"), "e-1", 1_767_225_600.0, 1_767_225_660.25)
    assert refused.reason == events.REASON_CONFLICTING_DUPLICATE
    assert refused.reason in events.REASON_CODES
    for part in ("'e-1'", "1767225600.0", "2026-01-01T00:00:00.000000+00:00", "1767225660.25",
                 "2026-01-01T00:01:00.250000+00:00"):  # fmt: skip
        assert part in refused.detail
    assert refused.row()[:4] == ("tel", 1, 9, events.REASON_CONFLICTING_DUPLICATE)


def test_each_reading_row_keeps_its_message_for_a_later_refusal() -> None:
    good = json.dumps({"truck_id": "K", "temp": 4.0, "timestamp": 1_767_225_600}).encode()
    batch = sort_batch(
        [_msg(0, good), _msg(1, b"{"), _msg(2, good)], telemetry_topic="tel",
        alerts_topic="alerts", max_bytes=65_536, future_tolerance_s=300.0,
        now_ms=1_767_229_200_000,
    )  # fmt: skip
    assert [m.offset for m in batch.reading_messages] == [0, 2]
    assert [row[-2] for row in batch.readings] == [0, 2]  # source_offset, same order
