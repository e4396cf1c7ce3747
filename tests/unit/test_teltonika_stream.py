"""Framing a Teltonika TCP connection: split and coalesced chunks give the same messages.

The conversation is Teltonika's own (the IMEI handshake and example packets of
https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols, as in test_codec8.py).
Hypothesis runs derandomized (a fixed seed), so a failure replays.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.test_codec8 import (
    CODEC8_EXAMPLE_1,
    CODEC8_EXAMPLE_2,
    CODEC8_EXAMPLE_3,
    CODEC8E_EXAMPLE,
    IMEI_HANDSHAKE,
)

from logistream.devices.codec8 import decode_packet
from logistream.devices.teltonika_stream import (
    BadPacket,
    Broken,
    Event,
    Handshake,
    Packet,
    Ping,
    TeltonikaStream,
)

CONVERSATION = (
    IMEI_HANDSHAKE
    + CODEC8_EXAMPLE_1
    + b"\xff"
    + CODEC8_EXAMPLE_2
    + CODEC8_EXAMPLE_3
    + CODEC8E_EXAMPLE
)
EXPECTED: list[Event] = [
    Handshake("356307042441013"),
    Packet(decode_packet(CODEC8_EXAMPLE_1), CODEC8_EXAMPLE_1),
    Ping(),
    Packet(decode_packet(CODEC8_EXAMPLE_2), CODEC8_EXAMPLE_2),
    Packet(decode_packet(CODEC8_EXAMPLE_3), CODEC8_EXAMPLE_3),
    Packet(decode_packet(CODEC8E_EXAMPLE), CODEC8E_EXAMPLE),
]


def _feed(chunks: list[bytes]) -> tuple[TeltonikaStream, list[Event]]:
    stream = TeltonikaStream()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(stream.feed(chunk))
    return stream, events


def test_a_whole_conversation_in_one_read() -> None:
    stream, events = _feed([CONVERSATION])
    assert events == EXPECTED
    assert stream.imei == "356307042441013"
    assert stream.pending == 0
    assert stream.broken is None


def test_one_byte_at_a_time() -> None:
    stream, events = _feed([CONVERSATION[i : i + 1] for i in range(len(CONVERSATION))])
    assert events == EXPECTED
    assert stream.pending == 0


def test_nothing_comes_out_of_half_a_packet() -> None:
    stream = TeltonikaStream()
    assert stream.feed(IMEI_HANDSHAKE + CODEC8_EXAMPLE_1[:30]) == [Handshake("356307042441013")]
    assert stream.pending == 30
    assert stream.feed(CODEC8_EXAMPLE_1[30:-1]) == []
    assert stream.feed(CODEC8_EXAMPLE_1[-1:]) == [
        Packet(decode_packet(CODEC8_EXAMPLE_1), CODEC8_EXAMPLE_1)
    ]


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(CONVERSATION)), max_size=12))
def test_any_split_of_the_stream_gives_the_same_messages(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(CONVERSATION)]
    chunks = [CONVERSATION[a:b] for a, b in itertools.pairwise(points)]
    _stream, events = _feed(chunks)
    assert events == EXPECTED


def test_a_damaged_packet_is_refused_and_the_next_one_still_read() -> None:
    damaged = bytearray(CODEC8_EXAMPLE_2)
    damaged[20] ^= 0x01
    stream, events = _feed([IMEI_HANDSHAKE + bytes(damaged) + CODEC8_EXAMPLE_3])
    assert len(events) == 3
    bad = events[1]
    assert isinstance(bad, BadPacket)
    assert bad.error.reason == "crc_mismatch"
    assert bad.raw == bytes(damaged)
    assert events[2] == Packet(decode_packet(CODEC8_EXAMPLE_3), CODEC8_EXAMPLE_3)
    assert stream.broken is None


def test_a_stream_out_of_step_breaks_and_stays_broken() -> None:
    stream, events = _feed([IMEI_HANDSHAKE + b"\x00\x00\x01\x00" + CODEC8_EXAMPLE_1])
    assert events[0] == Handshake("356307042441013")
    broken = events[1]
    assert isinstance(broken, Broken)
    assert broken.error.reason == "bad_preamble"
    assert stream.feed(CODEC8_EXAMPLE_2) == []  # nothing more: the gateway closes the link
    assert stream.pending == 0


def test_a_bad_handshake_breaks_the_stream() -> None:
    _stream, events = _feed([CODEC8_EXAMPLE_1])  # data before any IMEI
    assert len(events) == 1
    assert isinstance(events[0], Broken)
    assert events[0].error.reason == "bad_imei"


def test_an_impossible_length_breaks_at_once_without_waiting_for_it() -> None:
    stream = TeltonikaStream()
    stream.feed(IMEI_HANDSHAKE)
    (event,) = stream.feed(b"\x00\x00\x00\x00\x7f\xff\xff\xff")
    assert isinstance(event, Broken)
    assert event.error.reason == "length_mismatch"
