"""A refused reading's message is for the person who fixes the producer: the value as sent and
what it must be, never the decoder's own wording (``Expected `float` <= 100.0 - at `$.fuel```)."""

from __future__ import annotations

import pytest

from logistream.errors import InvalidReading
from logistream.events import decode_reading

PRODUCED_MS = 1_767_225_600_000


def _refused(raw: bytes) -> InvalidReading:
    with pytest.raises(InvalidReading) as refused:
        decode_reading(raw, record_ts_ms=PRODUCED_MS)
    return refused.value


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"truck_id":"T","temp":5,"timestamp":1767225600,"fuel":120}', "'fuel' is 120,"),
        (b'{"truck_id":"T","temp":5,"timestamp":1767225600,"lat":95.5}', "'lat' is 95.5,"),
        (b'{"truck_id":"' + b"K" * 80 + b'","temp":5,"timestamp":1767225600}', "80 characters"),
        (b'{"truck_id":"T","temp":5,"timestamp":1767225600,"seq":-1}', "'seq' is -1,"),
        (b'{"truck_id": x}', "not valid JSON (invalid character at byte 13"),
    ],
)
def test_the_message_shows_the_value_not_the_decoders_words(raw: bytes, words: str) -> None:
    message = _refused(raw).message
    assert words in message
    for internal in ("Expected", "$.", "`", "malformed"):
        assert internal not in message


def test_a_timestamp_in_milliseconds_is_explained_as_such() -> None:
    refused = _refused(b'{"truck_id":"T","temp":5,"timestamp":1767225600000}')
    assert refused.code == "future_event"
    assert refused.field == "timestamp"
    assert "milliseconds" in refused.message
    assert "1767225600.000" in refused.message


def test_an_api_batch_that_is_no_json_array_says_where() -> None:
    from logistream.api.ingest import BodyRefused, split_body

    with pytest.raises(BodyRefused) as refused:
        split_body(b'[{"truck_id": "T"},]', 10)
    assert "trailing comma in array at byte 19" in refused.value.rejection.detail
    assert "malformed" not in refused.value.rejection.detail
