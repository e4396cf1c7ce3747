"""Teltonika Codec 8 / 8 Extended: Teltonika's own example packets, every refusal, round trips.

The example packets, their bytes and their decoded values, are Teltonika's, from "Teltonika Data
Sending Protocols": https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols
(Codec 8 examples 1 to 3, the Codec 8 Extended example, and the IMEI handshake of the
"communication with server" section). Hypothesis runs derandomized (a fixed seed), so a failure
replays.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logistream.devices.codec8 import (
    CODEC_8,
    CODEC_8_EXTENDED,
    REASONS,
    AvlPacket,
    AvlRecord,
    CodecError,
    GpsElement,
    IoElement,
    bytes_needed,
    crc16_ibm,
    decode_imei,
    decode_packet,
    imei_bytes_needed,
    reply,
)
from logistream.devices.codec8_encode import encode_imei, encode_packet, encode_record
from logistream.errors import Refused

WIKI = "https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols"

# Codec 8, 1st example: one record, one IO element of each of the N1, N2, N4 and N8 groups.
CODEC8_EXAMPLE_1 = bytes.fromhex(
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F"
    "01F10000601A014E0000000000000000010000C7CF"
)
# Codec 8, 2nd example: one record, N1 and N2 only.
CODEC8_EXAMPLE_2 = bytes.fromhex(
    "000000000000002808010000016B40D9AD80010000000000000000000000000000000103021503010101425E10"
    "0000010000F22A"
)
# Codec 8, 3rd example: two records, each with DIN1 only.
CODEC8_EXAMPLE_3 = bytes.fromhex(
    "000000000000004308020000016B40D57B480100000000000000000000000000000001010101000000000000016B"
    "40D5C198010000000000000000000000000000000101010101000000020000252C"
)
# Codec 8 Extended example: 2-byte ids and counts, N1/N2/N4/N8 and an empty NX group.
CODEC8E_EXAMPLE = bytes.fromhex(
    "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100010011"
    "001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
)
# The IMEI handshake of the same page: length 000F, then "356307042441013" in ASCII.
IMEI_HANDSHAKE = bytes.fromhex("000F333536333037303432343431303133")

NO_FIX = GpsElement(longitude=0.0, latitude=0.0, altitude=0, angle=0, satellites=0, speed=0)


def _io(record: AvlRecord) -> dict[int, int]:
    return {element.id: element.unsigned for element in record.io}


# -- Teltonika's examples ----------------------------------------------------------------------


def test_codec8_example_1_decodes_as_teltonika_documents_it() -> None:
    packet = decode_packet(CODEC8_EXAMPLE_1)
    assert packet.codec_id == CODEC_8
    assert len(packet.records) == 1
    record = packet.records[0]
    assert record.timestamp_ms == 0x0000016B40D8EA30 == 1_560_161_086_000  # 2019-06-10 10:04:46Z
    assert record.priority == 1
    assert record.gps == NO_FIX
    assert record.event_io_id == 1
    assert [(e.id, len(e.value)) for e in record.io] == [
        (21, 1),
        (1, 1),
        (66, 2),
        (241, 4),
        (78, 8),
    ]
    assert _io(record) == {21: 3, 1: 1, 66: 0x5E0F, 241: 0x601A, 78: 0}
    assert reply(len(packet.records)) == bytes.fromhex("00000001")


def test_codec8_example_2_decodes_as_teltonika_documents_it() -> None:
    packet = decode_packet(CODEC8_EXAMPLE_2)
    (record,) = packet.records
    assert record.timestamp_ms == 0x0000016B40D9AD80 == 1_560_161_136_000  # 2019-06-10 10:05:36Z
    assert record.priority == 1
    assert record.gps == NO_FIX
    assert record.event_io_id == 1
    assert _io(record) == {21: 3, 1: 1, 66: 0x5E10}
    assert reply(len(packet.records)) == bytes.fromhex("00000001")


def test_codec8_example_3_has_two_records() -> None:
    packet = decode_packet(CODEC8_EXAMPLE_3)
    assert [r.timestamp_ms for r in packet.records] == [0x0000016B40D57B48, 0x0000016B40D5C198]
    assert [r.timestamp_ms // 1000 for r in packet.records] == [1_560_160_861, 1_560_160_879]
    assert [_io(r) for r in packet.records] == [{1: 0}, {1: 1}]
    assert all(r.priority == 1 and r.event_io_id == 1 for r in packet.records)
    assert reply(len(packet.records)) == bytes.fromhex("00000002")


def test_codec8_extended_example_decodes_as_teltonika_documents_it() -> None:
    packet = decode_packet(CODEC8E_EXAMPLE)
    assert packet.codec_id == CODEC_8_EXTENDED
    (record,) = packet.records
    assert record.timestamp_ms == 0x0000016B412CEE00 == 1_560_166_592_000  # 2019-06-10 11:36:32Z
    assert record.priority == 1
    assert record.gps == NO_FIX
    assert record.event_io_id == 1
    assert _io(record) == {1: 1, 17: 0x1D, 16: 0x015E2C88, 11: 0x3544C87A, 14: 0x1DD7E06A}
    assert not any(element.variable for element in record.io)


@pytest.mark.parametrize(
    "packet", [CODEC8_EXAMPLE_1, CODEC8_EXAMPLE_2, CODEC8_EXAMPLE_3, CODEC8E_EXAMPLE]
)
def test_teltonika_examples_encode_back_to_the_same_bytes(packet: bytes) -> None:
    assert encode_packet(decode_packet(packet)) == packet


def test_the_imei_handshake_of_the_documentation() -> None:
    assert imei_bytes_needed(IMEI_HANDSHAKE[:1]) == 2
    assert imei_bytes_needed(IMEI_HANDSHAKE[:2]) == 17
    assert decode_imei(IMEI_HANDSHAKE) == "356307042441013"
    assert encode_imei("356307042441013") == IMEI_HANDSHAKE


# -- CRC-16/IBM ----------------------------------------------------------------------------------


def test_crc16_ibm_known_values() -> None:
    # The CRC catalogue's check value of CRC-16/ARC (= IBM): poly 0x8005 reflected, init 0.
    assert crc16_ibm(b"123456789") == 0xBB3D
    assert crc16_ibm(b"") == 0
    # Teltonika's examples: the CRC covers codec id .. number of data 2 (bytes 8 .. -4).
    for packet, crc in [
        (CODEC8_EXAMPLE_1, 0xC7CF),
        (CODEC8_EXAMPLE_2, 0xF22A),
        (CODEC8_EXAMPLE_3, 0x252C),
        (CODEC8E_EXAMPLE, 0x2994),
    ]:
        assert crc16_ibm(packet[8:-4]) == crc


def _crc16_bitwise(data: bytes) -> int:
    """The definition, one bit at a time: reflected polynomial 0xA001, init 0, no final xor."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_the_table_crc_is_the_bitwise_definition(data: bytes) -> None:
    assert crc16_ibm(data) == _crc16_bitwise(data)


# -- framing -------------------------------------------------------------------------------------


def test_bytes_needed_asks_for_the_header_then_knows_the_size() -> None:
    packet = CODEC8_EXAMPLE_3
    for cut in range(8):
        assert bytes_needed(packet[:cut]) == 8
    for cut in range(8, len(packet) + 1):
        assert bytes_needed(packet[:cut]) == len(packet) == 8 + 0x43 + 4


def test_gps_coordinates_are_signed_tenths_of_microdegrees() -> None:
    """Nairobi: south of the equator, so the latitude's bytes are a two's complement."""
    gps = GpsElement(
        longitude=36.8219, latitude=-1.2921, altitude=1700, angle=90, satellites=9, speed=42
    )
    record = AvlRecord(1_700_000_000_000, 0, gps, 0, ())
    raw = encode_record(record, CODEC_8)
    assert raw[9:24] == bytes.fromhex("15F29378FF3AD75806A4005A09002A")
    decoded = decode_packet(encode_packet(AvlPacket(CODEC_8, (record,))))
    assert decoded.records[0].gps == gps
    below = GpsElement(longitude=-0.5, latitude=-33.9, altitude=-5, angle=0, satellites=4, speed=0)
    record = AvlRecord(1_700_000_000_000, 0, below, 0, ())
    assert decode_packet(encode_packet(AvlPacket(CODEC_8, (record,)))).records[0].gps == below


def test_signed_and_unsigned_views_of_an_io_value() -> None:
    element = IoElement(72, bytes.fromhex("FFFFFF83"))  # Dallas -12.5 °C is -125 tenths
    assert element.signed == -125
    assert element.unsigned == 0xFFFFFF83


# -- refusals: one per reason code ---------------------------------------------------------------


def _with_crc(body: bytes) -> bytes:
    """A packet around ``body`` (codec id .. number of data 2) with a correct length and CRC."""
    return b"\x00" * 4 + len(body).to_bytes(4, "big") + body + crc16_ibm(body).to_bytes(4, "big")


def _refused(raw: bytes, reason: str) -> CodecError:
    with pytest.raises(CodecError) as caught:
        decode_packet(raw)
    assert caught.value.reason == reason, caught.value
    assert isinstance(caught.value, Refused)
    assert len(str(caught.value)) > 40  # a sentence a person can act on
    return caught.value


def test_truncated_packet() -> None:
    error = _refused(CODEC8_EXAMPLE_1[:-1], "truncated")
    assert "wait" in str(error)
    _refused(CODEC8_EXAMPLE_1[:20], "truncated")


def test_bad_preamble() -> None:
    _refused(b"\x00\x01" + CODEC8_EXAMPLE_1[2:], "bad_preamble")
    with pytest.raises(CodecError) as caught:
        bytes_needed(b"\x00\x0f3")  # an IMEI handshake where a packet was expected
    assert caught.value.reason == "bad_preamble"


def test_length_mismatch() -> None:
    # A declared length no packet has: a stream reader must not wait for it.
    with pytest.raises(CodecError) as caught:
        bytes_needed(b"\x00\x00\x00\x00\xff\xff\xff\xff")
    assert caught.value.reason == "length_mismatch"
    # One byte more than the data field length says.
    _refused(CODEC8_EXAMPLE_1 + b"\x00", "length_mismatch")
    # The records need more bytes than the data field has (CRC right: the device wrote it so).
    body = CODEC8_EXAMPLE_2[8:-4]
    _refused(_with_crc(body[:-3] + body[-1:]), "length_mismatch")
    # The records end before number of data 2.
    _refused(_with_crc(body[:-1] + b"\x00" + body[-1:]), "length_mismatch")


def test_unknown_codec() -> None:
    body = b"\x10" + CODEC8_EXAMPLE_2[9:-4]  # Codec 16's id on a Codec 8 body
    error = _refused(_with_crc(body), "unknown_codec")
    assert "0x10" in str(error)


def test_count_mismatch() -> None:
    body = CODEC8_EXAMPLE_3[8:-4]
    _refused(_with_crc(body[:-1] + b"\x01"), "count_mismatch")  # number of data 2 says 1, not 2
    # A record that announces 4 IO elements in total while its groups hold 3.
    body = bytearray(CODEC8_EXAMPLE_2[8:-4])
    assert body[2 + 8 + 1 + 15 + 1] == 3  # the IO count, after timestamp, priority, GPS, event id
    body[2 + 8 + 1 + 15 + 1] = 4
    _refused(_with_crc(bytes(body)), "count_mismatch")


def test_crc_mismatch() -> None:
    damaged = bytearray(CODEC8_EXAMPLE_1)
    damaged[30] ^= 0x40
    error = _refused(bytes(damaged), "crc_mismatch")
    assert "0xC7CF" not in str(error)  # it names the CRC the bytes give, and the one sent
    assert "0x0000C7CF" in str(error)
    _refused(CODEC8_EXAMPLE_1[:-4] + b"\x00\x01\xc7\xcf", "crc_mismatch")  # high bytes are zero


@pytest.mark.parametrize(
    "handshake",
    [
        bytes.fromhex("0010") + b"3563070424410131",  # 16 digits
        bytes.fromhex("000F") + b"35630704244101X",  # not all digits
        IMEI_HANDSHAKE + b"\x00",  # data sent before the reply
        b"\x00\x00",
    ],
)
def test_bad_imei(handshake: bytes) -> None:
    with pytest.raises(CodecError) as caught:
        decode_imei(handshake)
    assert caught.value.reason == "bad_imei"


def test_truncated_imei() -> None:
    with pytest.raises(CodecError) as caught:
        decode_imei(IMEI_HANDSHAKE[:10])
    assert caught.value.reason == "truncated"


def test_every_reason_code_is_tested_here() -> None:
    assert set(REASONS) == {
        "truncated",
        "bad_preamble",
        "length_mismatch",
        "unknown_codec",
        "count_mismatch",
        "crc_mismatch",
        "bad_imei",
    }


def test_encoder_refuses_what_the_codec_cannot_carry() -> None:
    with pytest.raises(ValueError, match="NX"):
        encode_record(AvlRecord(0, 0, NO_FIX, 0, (IoElement(1, b"\x01", variable=True),)), CODEC_8)
    with pytest.raises(ValueError, match="3-byte"):
        encode_record(AvlRecord(0, 0, NO_FIX, 0, (IoElement(1, b"abc"),)), CODEC_8)
    with pytest.raises(ValueError, match="does not fit"):
        encode_record(AvlRecord(0, 0, NO_FIX, 0, (IoElement(300, b"\x01"),)), CODEC_8)
    with pytest.raises(ValueError, match="IMEI"):
        encode_imei("12345")


# -- round trips ---------------------------------------------------------------------------------


@st.composite
def gps_elements(draw: st.DrawFn) -> GpsElement:
    return GpsElement(
        longitude=draw(st.integers(-1_800_000_000, 1_800_000_000)) / 1e7,
        latitude=draw(st.integers(-900_000_000, 900_000_000)) / 1e7,
        altitude=draw(st.integers(-(2**15), 2**15 - 1)),
        angle=draw(st.integers(0, 360)),
        satellites=draw(st.integers(0, 255)),
        speed=draw(st.integers(0, 2**16 - 1)),
    )


@st.composite
def records(draw: st.DrawFn, codec_id: int) -> AvlRecord:
    extended = codec_id == CODEC_8_EXTENDED
    ids = st.integers(0, 0xFFFF if extended else 0xFF)
    io: list[IoElement] = []
    for size in (1, 2, 4, 8):  # the decoder gives the groups in this order
        values = draw(st.lists(st.tuples(ids, st.binary(min_size=size, max_size=size)), max_size=4))
        io.extend(IoElement(io_id, value) for io_id, value in values)
    if extended:
        values = draw(st.lists(st.tuples(ids, st.binary(max_size=40)), max_size=3))
        io.extend(IoElement(io_id, value, variable=True) for io_id, value in values)
    return AvlRecord(
        timestamp_ms=draw(st.integers(0, 2**64 - 1)),
        priority=draw(st.integers(0, 2)),
        gps=draw(gps_elements()),
        event_io_id=draw(ids),
        io=tuple(io),
    )


def packets(codec_id: int) -> st.SearchStrategy[AvlPacket]:
    return st.lists(records(codec_id), min_size=1, max_size=4).map(
        lambda rs: AvlPacket(codec_id, tuple(rs))
    )


@settings(derandomize=True, max_examples=150, deadline=None)
@given(packets(CODEC_8))
def test_codec8_round_trip(packet: AvlPacket) -> None:
    raw = encode_packet(packet)
    assert bytes_needed(raw[:8]) == len(raw)
    assert decode_packet(raw) == packet


@settings(derandomize=True, max_examples=150, deadline=None)
@given(packets(CODEC_8_EXTENDED))
def test_codec8_extended_round_trip(packet: AvlPacket) -> None:
    raw = encode_packet(packet)
    assert bytes_needed(raw[:8]) == len(raw)
    assert decode_packet(raw) == packet


@settings(derandomize=True, max_examples=150, deadline=None)
@given(packets(CODEC_8), st.data())
def test_any_damaged_byte_is_refused_never_misread(packet: AvlPacket, data: st.DataObject) -> None:
    """One flipped byte anywhere is always caught (CRC-16 catches every burst of 16 bits or
    fewer), with one of the reason codes, never a wrong packet or another exception."""
    raw = bytearray(encode_packet(packet))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(CodecError) as caught:
        decode_packet(bytes(raw))
    assert caught.value.reason in REASONS


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_refused_with_a_reason_or_decoded(raw: bytes) -> None:
    refused: CodecError | None = None
    try:
        decode_packet(raw)
    except CodecError as error:
        refused = error
    assert refused is None or refused.reason in REASONS
