"""Pure bridge logic: sorting a batch, day partitions, DLQ records, backoff. No servers."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from helpers import seeded_random
from logistream import events
from logistream.backoff import Backoff
from logistream.batch.archive import day_number, day_of
from logistream.batch.dlq import MAX_DLQ_VALUE, dlq_value
from logistream.batch.records import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    READING_COLUMNS,
    READING_TYPES,
    Consumed,
    Rejection,
    sort_batch,
    utc_day,
)

TEL, ALERTS = "tel", "alerts"
NOW_MS = 1_767_225_600_000 + 3_600_000


def msg(value: bytes | None, offset: int = 0, partition: int = 0, topic: str = TEL,
        ts_ms: int | None = NOW_MS, key: bytes | None = b"K") -> Consumed:  # fmt: skip
    return Consumed(topic, partition, offset, key, value, ts_ms)


def sort(messages: list[Consumed]):  # type: ignore[no-untyped-def]
    return sort_batch(messages, telemetry_topic=TEL, alerts_topic=ALERTS, max_bytes=65_536,
                      future_tolerance_s=300.0, now_ms=NOW_MS)  # fmt: skip


def good(**fields: object) -> bytes:
    return json.dumps({"truck_id": "KCA-1", "temp": 4.0, "timestamp": 1_767_225_600.5,
                       **fields}).encode()  # fmt: skip


def test_row_layouts_match_their_types() -> None:
    assert len(READING_COLUMNS) == len(READING_TYPES)
    assert len(ALERT_COLUMNS) == len(ALERT_TYPES)


def test_accepted_plus_rejected_is_consumed_and_offsets_are_next_to_read() -> None:
    rng = seeded_random("sort-batch")
    batch_in: list[Consumed] = []
    expected_bad = 0
    next_offsets: dict[tuple[str, int], int] = {}
    for i in range(500):
        partition = rng.randrange(3)
        offset = next_offsets.get((TEL, partition), 0)
        next_offsets[(TEL, partition)] = offset + 1
        if rng.random() < 0.3:
            value = rng.choice([b"{", b"[]", good(temp="hot"), good(lat=200), b"null"])
            expected_bad += 1
        else:
            value = good(seq=i)
        batch_in.append(msg(value, offset, partition))
    batch = sort(batch_in)
    assert batch.consumed == 500
    assert len(batch.readings) + len(batch.rejected) == 500
    assert len(batch.rejected) == expected_bad
    assert batch.next_offsets == next_offsets


def test_reading_row_keeps_fields_extras_and_source() -> None:
    batch = sort([msg(good(fuel=80, lat=-1.2, colour="blue"), offset=7, partition=2)])
    (row,) = batch.readings
    fields = dict(zip(READING_COLUMNS, row, strict=True))
    assert fields["truck_id"] == "KCA-1"
    assert fields["fuel"] == 80
    assert fields["event_id"] == events.derive_event_id("KCA-1", 1_767_225_600.5)
    assert json.loads(fields["extras"]) == {"colour": "blue"}
    assert (fields["source_partition"], fields["source_offset"]) == (2, 7)
    assert fields["produced_ms"] == NOW_MS
    assert batch.days == {utc_day(1_767_225_600.5)}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b'{"truck_id": "K", "temp": 1', events.REASON_INVALID_JSON),
        (b"\xff\xfe", events.REASON_INVALID_JSON),
        (b'{"truck_id": "K\xff", "temp": 1, "timestamp": 1767225600}', events.REASON_INVALID_JSON),
        (None, events.REASON_INVALID_JSON),
        (b"[1]", events.REASON_NOT_AN_OBJECT),
        (good(temp="hot"), events.REASON_WRONG_TYPE),
        (
            b'{"truck_id": "K", "temp": NaN, "timestamp": 1767225600}',
            events.REASON_IMPOSSIBLE_VALUE,
        ),
        (good(driver_id="a\u0000b"), events.REASON_IMPOSSIBLE_VALUE),
        (good(note={"k\u0000": 1}), events.REASON_IMPOSSIBLE_VALUE),
        (good(seq=2**63), events.REASON_IMPOSSIBLE_VALUE),
        (json.dumps({"temp": 1, "timestamp": 1767225600}).encode(), events.REASON_MISSING_FIELD),
        (good(timestamp=NOW_MS / 1000 + 301), events.REASON_FUTURE_EVENT),
        (good(pad="x" * 70_000), events.REASON_TOO_LARGE),
    ],
)
def test_every_malformed_kind_is_rejected_with_its_code(value: bytes | None, code: str) -> None:
    batch = sort([msg(value, offset=3), msg(good(), offset=4)])
    (rejection,) = batch.rejected
    assert rejection.reason == code
    assert rejection.detail.endswith(".")
    assert len(batch.readings) == 1, "the next good reading is still accepted"
    assert batch.next_offsets == {(TEL, 0): 5}


def test_an_escaped_backslash_is_not_mistaken_for_nul() -> None:
    batch = sort([msg(good(driver_id="C:\\u0000"))])
    assert len(batch.readings) == 1


def test_a_message_without_record_time_is_judged_against_the_wall_clock() -> None:
    batch = sort([msg(good(timestamp=NOW_MS / 1000 + 3600), ts_ms=None)])
    assert batch.rejected[0].reason == events.REASON_FUTURE_EVENT


def test_alert_changes_and_bad_alerts() -> None:
    alert = {"alert_id": "a", "truck_id": "K", "rule": "temp_high", "severity": "major",
             "state": "open", "opened_at": 1.7e9, "changed_at": 1.7e9,
             "message": "hot"}  # fmt: skip
    batch = sort([
        msg(json.dumps(alert).encode(), topic=ALERTS),
        msg(json.dumps({**alert, "changed_at": 1e300}).encode(), 1, topic=ALERTS),
        msg(b'{"alert_id": "b"}', 2, topic=ALERTS),
        msg(b"nope", 3, topic=ALERTS),
        msg(good(), 0, topic="elsewhere"),
    ])  # fmt: skip
    assert len(batch.alerts) == 1
    assert [r.reason for r in batch.rejected] == [
        events.REASON_IMPOSSIBLE_VALUE, events.REASON_MISSING_FIELD, events.REASON_INVALID_JSON,
        events.REASON_NOT_AN_OBJECT,
    ]  # fmt: skip
    assert batch.next_offsets == {(ALERTS, 0): 4, ("elsewhere", 0): 1}


def test_utc_day_agrees_with_postgres_rounding_at_midnight() -> None:
    midnight = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert day_of(utc_day(midnight)) == dt.date(2026, 1, 1)
    assert day_of(utc_day(midnight - 1e-7)) == dt.date(2026, 1, 1)  # rounds up to midnight
    assert day_of(utc_day(midnight - 1e-6)) == dt.date(2025, 12, 31)
    rng = random.Random(7)
    for _ in range(1000):
        ts = rng.uniform(946_684_800, 4_000_000_000)
        expected = dt.datetime.fromtimestamp(round(ts, 6), dt.UTC).date()
        assert day_of(utc_day(ts)) == expected
        assert day_number(expected) == utc_day(ts)


def test_dlq_record_keeps_original_bytes_and_names_its_source() -> None:
    raw = b'{"truck_id": 1}'
    value, headers = dlq_value(Rejection(msg(raw, offset=9, partition=1), "wrong_type", "Fix it."))
    named = dict(headers)
    assert value == raw
    assert named["reason"] == b"wrong_type"
    assert named["message"] == b"Fix it."
    assert (named["source_topic"], named["source_partition"], named["source_offset"]) == (
        b"tel", b"1", b"9")  # fmt: skip


def test_dlq_value_of_a_huge_message_is_cut_and_says_so() -> None:
    raw = b"x" * (MAX_DLQ_VALUE + 10)
    value, headers = dlq_value(Rejection(msg(raw), "too_large", "Too big."))
    assert len(value) == MAX_DLQ_VALUE
    assert dict(headers)["truncated_from_bytes"] == str(len(raw)).encode()


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial_s=0.1, cap_s=1.0, jitter=0.0)
    delays = [backoff.next_delay() for _ in range(6)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next_delay() == 0.1
