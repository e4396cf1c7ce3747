"""The wire contract: what is accepted, what is refused and with which reason."""

from __future__ import annotations

import json

import pytest

from logistream.errors import InvalidReading
from logistream.events import (
    Alert,
    AlertCommand,
    Reading,
    decode_alert,
    decode_command,
    decode_reading,
    decode_reading_with_extras,
    derive_event_id,
    encode,
)

ORIGINAL = b'{"truck_id": "TRUCK-001", "temp": 9.1, "fuel": 80, "timestamp": 1767225600.0}'
PRODUCED_MS = 1_767_225_600_000


def test_the_original_logistream_message_is_a_valid_reading() -> None:
    reading = decode_reading(ORIGINAL, record_ts_ms=PRODUCED_MS)
    assert (reading.truck_id, reading.temp, reading.fuel) == ("TRUCK-001", 9.1, 80.0)
    assert reading.event_id == derive_event_id("TRUCK-001", 1767225600.0)


def test_a_missing_event_id_is_derived_the_same_way_every_time() -> None:
    integer_time = b'{"truck_id": "TRUCK-001", "temp": 9.1, "timestamp": 1767225600}'
    assert decode_reading(integer_time).event_id == decode_reading(ORIGINAL).event_id
    other_truck = ORIGINAL.replace(b"TRUCK-001", b"TRUCK-002")
    assert decode_reading(other_truck).event_id != decode_reading(ORIGINAL).event_id


def test_unknown_fields_are_kept_as_extras() -> None:
    raw = json.dumps(
        {"truck_id": "T", "temp": 4.0, "timestamp": 1767225600, "firmware": "2.1", "x": {"a": 1}}
    ).encode()
    reading, extras = decode_reading_with_extras(raw)
    assert reading.truck_id == "T"
    assert extras == {"firmware": "2.1", "x": {"a": 1}}
    assert decode_reading_with_extras(ORIGINAL)[1] is None


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b'{"truck_id": "T", "te', "invalid_json", "truncated"),
        (b"\xff\xfe", "invalid_json", "JSON"),
        (b"[1, 2]", "not_an_object", "one JSON object"),
        (b'{"temp": 4, "timestamp": 1767225600}', "missing_field", "'truck_id' is missing"),
        (b'{"truck_id": "T", "timestamp": 1767225600}', "missing_field", "'temp' is missing"),
        (b'{"truck_id": "T", "temp": "hot", "timestamp": 1767225600}', "wrong_type", "'temp'"),
        (b'{"truck_id": "T", "temp": true, "timestamp": 1767225600}', "wrong_type", "'temp'"),
        (b'{"truck_id": "T", "temp": NaN, "timestamp": 1767225600}', "impossible_value", "nan"),
        (
            b'{"truck_id": "T", "temp": 4, "timestamp": 1767225600, "lat": 200}',
            "impossible_value",
            "'lat'",
        ),
        (b'{"truck_id": "", "temp": 4, "timestamp": 1767225600}', "impossible_value", "'truck_id'"),
        (b'{"truck_id": "T", "temp": 4, "timestamp": 0}', "impossible_value", "'timestamp'"),
        (
            b'{"truck_id": "T", "temp": 4, "timestamp": 1767226000}',
            "future_event",
            "clock runs ahead",
        ),
    ],
)
def test_a_bad_message_is_refused_with_a_reason_code_and_a_sentence(
    raw: bytes, code: str, words: str
) -> None:
    with pytest.raises(InvalidReading) as refused:
        decode_reading_with_extras(raw, record_ts_ms=PRODUCED_MS)
    assert refused.value.code == code
    assert words in refused.value.message
    with pytest.raises(InvalidReading) as typed:
        decode_reading(raw, record_ts_ms=PRODUCED_MS)
    assert typed.value.code == code


def test_five_minutes_ahead_is_allowed_and_a_second_more_is_not() -> None:
    at_limit = f'{{"truck_id": "T", "temp": 4, "timestamp": {1767225600 + 300}}}'.encode()
    assert decode_reading(at_limit, record_ts_ms=PRODUCED_MS).truck_id == "T"
    beyond = f'{{"truck_id": "T", "temp": 4, "timestamp": {1767225600 + 301}}}'.encode()
    with pytest.raises(InvalidReading):
        decode_reading(beyond, record_ts_ms=PRODUCED_MS)


def test_a_message_above_64_kb_is_too_large() -> None:
    big = json.dumps(
        {"truck_id": "T", "temp": 4, "timestamp": 1767225600, "pad": "x" * 70_000}
    ).encode()
    with pytest.raises(InvalidReading) as refused:
        decode_reading(big)
    assert refused.value.code == "too_large"
    assert str(len(big)) in refused.value.message


def test_readings_alerts_and_commands_round_trip() -> None:
    reading = Reading(truck_id="KBX 123A", temp=5.5, timestamp=1767225600.5, cargo="vaccines")
    assert decode_reading(encode(reading)).cargo == "vaccines"
    alert = Alert(
        alert_id="a1",
        truck_id="KBX 123A",
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=1.0,
        changed_at=1.0,
        message="hot",
    )
    assert decode_alert(encode(alert)) == alert
    command = AlertCommand(action="ack", alert_id="a1", truck_id="KBX 123A", by="amina")
    assert decode_command(encode(command)) == command


def test_invalid_utf8_inside_a_string_is_invalid_json_not_a_crash() -> None:
    with pytest.raises(InvalidReading) as refused:
        decode_reading_with_extras(b'{"truck_id": "\xff", "temp": 1, "timestamp": 1767225600}')
    assert refused.value.code == "invalid_json"
