"""Pure: one consumed message becomes an archive row or a rejection, and a batch its offsets.

No I/O here: :func:`sort_batch` turns plain :class:`Consumed` records (what the bridge reads off
Kafka) into the rows the archive writes and the rejections the DLQ and ``rejected_readings``
receive. Every consumed message lands in exactly one of ``readings``, ``alerts`` or
``rejected``: accepted + rejected = consumed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from logistream import events
from logistream.errors import InvalidReading

# PostgreSQL counts microseconds from 2000-01-01; to_timestamp(float8) subtracts this offset
# before rounding, and the day a row lands in must be computed exactly the same way.
_PG_EPOCH_S: Final = 946_684_800.0
_PG_EPOCH_US: Final = 946_684_800_000_000
_DAY_US: Final = 86_400_000_000
MAX_EPOCH_S: Final = 1e11  # year 5138: beyond any clock, well inside PostgreSQL's range

_json: Final = msgspec.json.Encoder()

READING_COLUMNS: Final = (
    "event_id", "ts", "truck_id", "temp", "fuel", "seq", "trip_id", "driver_id", "cargo",
    "lat", "lon", "speed_kmh", "heading_deg", "humidity", "door_open", "reefer_on", "defrost",
    "probe_id", "extras", "source_partition", "source_offset", "produced_ms",
)  # fmt: skip
READING_TYPES: Final = (
    "text", "float8", "text", "float8", "float8", "int8", "text", "text", "text",
    "float8", "float8", "float8", "float8", "float8", "bool", "bool", "bool",
    "text", "text", "int4", "int8", "int8",
)  # fmt: skip
ALERT_COLUMNS: Final = (
    "alert_id", "state", "changed_at", "truck_id", "trip_id", "cargo", "rule", "severity",
    "opened_at", "value", "threshold", "lat", "lon", "message", "acknowledged_by", "ack_note",
    "resolved_at", "payload", "source_partition", "source_offset", "probe_id",
)  # fmt: skip
ALERT_TYPES: Final = (
    "text", "text", "float8", "text", "text", "text", "text", "text",
    "float8", "float8", "float8", "float8", "float8", "text", "text", "text",
    "float8", "text", "int4", "int8", "text",
)  # fmt: skip
REJECTED_COLUMNS: Final = (
    "source_topic", "source_partition", "source_offset", "reason", "detail", "message_key",
    "raw", "produced_ms",
)  # fmt: skip
REJECTED_TYPES: Final = ("text", "int4", "int8", "text", "text", "bytea", "bytea", "int8")

ReadingRow = tuple[Any, ...]
AlertRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Consumed:
    """What the bridge needs of one Kafka message (a plain copy, so this module stays pure)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    """Record timestamp (CreateTime), or None when the broker gave none."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message the bridge refused: the DLQ record and the ``rejected_readings`` row."""

    message: Consumed
    reason: str
    detail: str

    def row(self) -> tuple[Any, ...]:
        m = self.message
        return (m.topic, m.partition, m.offset, self.reason, self.detail, m.key,
                m.value or b"", m.timestamp_ms)  # fmt: skip


@dataclass(slots=True)
class SortedBatch:
    """One batch split by destination, with the next offset to read per (topic, partition)."""

    readings: list[ReadingRow] = field(default_factory=list)
    reading_messages: list[Consumed] = field(default_factory=list)
    """The message of each row of ``readings`` (same order): a row the archive refuses later
    (:func:`conflicting_duplicate`) goes to the DLQ with its original bytes."""
    alerts: list[AlertRow] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    days: set[int] = field(default_factory=set)
    """UTC day numbers (days since 1970-01-01) the readings fall in: partitions needed."""
    oldest_produced_ms: int | None = None
    consumed: int = 0


def utc_day(ts: float) -> int:
    """The UTC day (days since 1970-01-01) PostgreSQL's ``to_timestamp(ts)`` falls in."""
    pg_us = round((ts - _PG_EPOCH_S) * 1_000_000.0)
    return (pg_us + _PG_EPOCH_US) // _DAY_US


def reading_row(
    reading: events.Reading, extras: dict[str, Any] | None, message: Consumed
) -> ReadingRow:
    """The staging row of one accepted reading, in :data:`READING_COLUMNS` order."""
    r = reading
    return (
        r.event_id, r.timestamp, r.truck_id, r.temp, r.fuel, r.seq, r.trip_id, r.driver_id,
        r.cargo, r.lat, r.lon, r.speed_kmh, r.heading_deg, r.humidity, r.door_open,
        r.reefer_on, r.defrost, r.probe_id, _json.encode(extras).decode() if extras else None,
        message.partition, message.offset, message.timestamp_ms,
    )  # fmt: skip


def decode_telemetry(
    message: Consumed,
    *,
    max_bytes: int,
    future_tolerance_s: float,
    fallback_ts_ms: int | None = None,
) -> ReadingRow | Rejection:
    """A reading row, or why the message was refused (reason codes of :mod:`events`).

    The checks are the speed layer's too (:func:`events.decode_reading_with_extras`): a
    reading refused here raised no alert there.
    """
    try:
        reading, extras = events.decode_reading_with_extras(
            message.value,
            record_ts_ms=message.timestamp_ms or fallback_ts_ms,
            max_bytes=max_bytes,
            future_tolerance_s=future_tolerance_s,
        )
    except InvalidReading as error:
        return Rejection(message, error.code, error.message)
    return reading_row(reading, extras, message)


def _utc_text(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="microseconds")


def conflicting_duplicate(
    message: Consumed, event_id: str, archived_ts: float, resent_ts: float
) -> Rejection:
    """The refusal of a reading whose ``event_id`` the archive holds with another timestamp.

    One event id is one reading: the copy archived first stays, this one goes to the DLQ with
    both times named.
    """
    return Rejection(
        message,
        events.REASON_CONFLICTING_DUPLICATE,
        f"Event id {event_id!r} is already archived with timestamp {archived_ts!r} "
        f"({_utc_text(archived_ts)}), and this message sends it again with timestamp "
        f"{resent_ts!r} ({_utc_text(resent_ts)}): one event id is one reading. Fix the producer "
        "to give every new reading its own event_id (a re-send must repeat the same timestamp).",
    )


def decode_alert_change(message: Consumed, *, max_bytes: int) -> AlertRow | Rejection:
    """An alert-change row, or why the message was refused."""
    raw = message.value or b""
    if len(raw) > max_bytes:
        return Rejection(
            message,
            events.REASON_TOO_LARGE,
            f"Alert message is {len(raw)} bytes, above the {max_bytes}-byte limit: the speed "
            "layer should publish one short alert change per message.",
        )
    try:
        alert = events.decode_alert(raw)
    except msgspec.ValidationError as error:
        code = (
            events.REASON_MISSING_FIELD
            if "missing required field" in str(error)
            else events.REASON_WRONG_TYPE
        )
        return Rejection(
            message,
            code,
            f"Alert change breaks the contract ({error}): every alert needs alert_id, "
            "truck_id, rule, severity, state, opened_at, changed_at and message; fix the "
            "publisher.",
        )
    except (msgspec.DecodeError, ValueError) as error:
        return Rejection(
            message,
            events.REASON_INVALID_JSON,
            f"Alert message is not valid UTF-8 JSON ({error}); check the publisher's encoding.",
        )
    a = alert
    times = (a.opened_at, a.changed_at, a.resolved_at)
    if any(t is not None and not 0.0 <= t < MAX_EPOCH_S for t in times):
        return Rejection(
            message,
            events.REASON_IMPOSSIBLE_VALUE,
            f"Alert times {times} are not Unix epoch seconds; fix the publisher.",
        )
    if (field := events.nul_field(raw)) is not None:
        return Rejection(
            message,
            events.REASON_IMPOSSIBLE_VALUE,
            f"Alert field '{field}' contains a NUL character (\\u0000), which the archive "
            "cannot store: fix the publisher to send printable text.",
        )
    return (
        a.alert_id, a.state, a.changed_at, a.truck_id, a.trip_id, a.cargo, a.rule, a.severity,
        a.opened_at, a.value, a.threshold, a.lat, a.lon, a.message, a.acknowledged_by,
        a.ack_note, a.resolved_at, raw.decode(), message.partition, message.offset, a.probe_id,
    )  # fmt: skip


def sort_batch(
    messages: list[Consumed],
    *,
    telemetry_topic: str,
    alerts_topic: str,
    max_bytes: int,
    future_tolerance_s: float,
    now_ms: int,
) -> SortedBatch:
    """Split a batch by destination; every message counts once, wherever it goes.

    ``now_ms`` stands in for the record timestamp of a message that has none, so that an
    event time far in the future is refused even then.
    """
    batch = SortedBatch(consumed=len(messages))
    offsets = batch.next_offsets
    oldest: int | None = None
    for message in messages:
        key = (message.topic, message.partition)
        if offsets.get(key, -1) <= message.offset:
            offsets[key] = message.offset + 1
        ts_ms = message.timestamp_ms
        if ts_ms is not None and (oldest is None or ts_ms < oldest):
            oldest = ts_ms
        if message.topic == telemetry_topic:
            row = decode_telemetry(
                message,
                max_bytes=max_bytes,
                future_tolerance_s=future_tolerance_s,
                fallback_ts_ms=now_ms,
            )
            if isinstance(row, Rejection):
                batch.rejected.append(row)
            else:
                batch.readings.append(row)
                batch.reading_messages.append(message)
                batch.days.add(utc_day(row[1]))
        elif message.topic == alerts_topic:
            alert = decode_alert_change(message, max_bytes=max_bytes)
            if isinstance(alert, Rejection):
                batch.rejected.append(alert)
            else:
                batch.alerts.append(alert)
        else:
            batch.rejected.append(
                Rejection(
                    message,
                    events.REASON_NOT_AN_OBJECT,
                    f"The bridge does not archive topic {message.topic!r}; check its "
                    "subscription settings.",
                )
            )
    batch.oldest_produced_ms = oldest
    return batch


def dlq_headers(rejection: Rejection) -> list[tuple[str, bytes]]:
    """Headers of the DLQ record: reason code, a sentence a person can act on, and the source."""
    m = rejection.message
    return [
        ("reason", rejection.reason.encode()),
        ("message", rejection.detail.encode()),
        ("source_topic", m.topic.encode()),
        ("source_partition", str(m.partition).encode()),
        ("source_offset", str(m.offset).encode()),
        ("source_timestamp_ms", str(m.timestamp_ms if m.timestamp_ms is not None else "").encode()),
    ]
