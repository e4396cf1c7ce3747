"""Teltonika Codec 8 and Codec 8 Extended over TCP, decoded: bytes in, typed records out.

The protocol as Teltonika publishes it (https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols):
a connection opens with the IMEI handshake (2-byte length, then the IMEI in ASCII; the server
answers 0x01 to accept, 0x00 to refuse), then the device sends AVL data packets:

    preamble 00000000 | data field length (4) | codec id (1) | number of data 1 (1) |
    AVL records ... | number of data 2 (1) | CRC-16/IBM (4, the low 2 bytes carry it)

The data field length and the CRC both cover codec id .. number of data 2. Each record is a
timestamp (ms, 8), a priority (1), the GPS element (longitude, latitude: signed x 1e-7 degrees,
altitude, angle, satellites, speed) and the IO element: the event IO id, the total count and the
N1/N2/N4/N8 groups of 1-, 2-, 4- and 8-byte values (Codec 8: 1-byte ids and counts; Codec 8
Extended: 2-byte ids and counts and a last NX group of variable-length values). The server
replies with the number of records it accepted, 4 bytes big-endian; the device sends the packet
again when that number is short.

Everything here is pure. A packet that cannot be trusted raises :class:`CodecError`, whose
``reason`` is one of :data:`REASONS` and whose message says what is wrong and what to do.
IO values are kept as the bytes sent: whether one is signed, and its unit, depend on the IO id and
the device model (``devices.io_mapping``), not on the protocol.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from logistream.errors import Refused

CODEC_8: Final = 0x08
CODEC_8_EXTENDED: Final = 0x8E
CODECS: Final = (CODEC_8, CODEC_8_EXTENDED)

IMEI_ACCEPT: Final = b"\x01"
IMEI_REFUSE: Final = b"\x00"
IMEI_DIGITS: Final = 15

PREAMBLE: Final = b"\x00\x00\x00\x00"
HEADER_BYTES: Final = 8  # preamble + data field length
CRC_BYTES: Final = 4
# Codec 8 packets are at most 1280 bytes (Teltonika); Codec 8 Extended ones can be longer. A
# declared length above this is not a packet: a stream reader must not wait for gigabytes.
MAX_DATA_FIELD_LENGTH: Final = 65_536
MIN_DATA_FIELD_LENGTH: Final = 3  # codec id, number of data 1, number of data 2

REASON_TRUNCATED: Final = "truncated"
REASON_BAD_PREAMBLE: Final = "bad_preamble"
REASON_LENGTH_MISMATCH: Final = "length_mismatch"
REASON_UNKNOWN_CODEC: Final = "unknown_codec"
REASON_COUNT_MISMATCH: Final = "count_mismatch"
REASON_CRC_MISMATCH: Final = "crc_mismatch"
REASON_BAD_IMEI: Final = "bad_imei"
REASONS: Final = (
    REASON_TRUNCATED,
    REASON_BAD_PREAMBLE,
    REASON_LENGTH_MISMATCH,
    REASON_UNKNOWN_CODEC,
    REASON_COUNT_MISMATCH,
    REASON_CRC_MISMATCH,
    REASON_BAD_IMEI,
)

GPS_BYTES: Final = 15
RECORD_FIXED_BYTES: Final = 8 + 1 + GPS_BYTES  # timestamp, priority, GPS element
FIXED_WIDTHS: Final = (1, 2, 4, 8)  # the N1, N2, N4 and N8 groups


class CodecError(Refused):
    """A handshake or packet that cannot be trusted. ``reason`` is one of :data:`REASONS`;
    ``offset`` the byte of the packet where the problem was found, when there is one."""

    def __init__(self, reason: str, detail: str, *, offset: int | None = None) -> None:
        super().__init__(reason, detail)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class GpsElement:
    """Where the device was. Degrees are WGS84; ``satellites`` 0 means no fix (Teltonika then
    sends the last known position, or zeros)."""

    longitude: float
    latitude: float
    altitude: int
    """Metres above sea level."""
    angle: int
    """Heading, degrees from north, 0..360."""
    satellites: int
    speed: int
    """km/h."""


@dataclass(frozen=True, slots=True)
class IoElement:
    """One IO value as sent: its id and big-endian bytes. ``variable`` marks the NX group of
    Codec 8 Extended (any length), where a 1/2/4/8-byte value may also travel."""

    id: int
    value: bytes
    variable: bool = False

    @property
    def unsigned(self) -> int:
        return int.from_bytes(self.value, "big", signed=False)

    @property
    def signed(self) -> int:
        return int.from_bytes(self.value, "big", signed=True)


@dataclass(frozen=True, slots=True)
class AvlRecord:
    """One AVL record: a moment of one device."""

    timestamp_ms: int
    """Unix epoch milliseconds, UTC."""
    priority: int
    """0 low, 1 high, 2 panic."""
    gps: GpsElement
    event_io_id: int
    """The IO id that caused this record; 0 when it was periodic."""
    io: tuple[IoElement, ...]
    """In the order sent: the N1, N2, N4, N8 (and NX) groups one after the other."""

    def io_value(self, io_id: int) -> IoElement | None:
        """The first IO element of that id in this record, or None."""
        for element in self.io:
            if element.id == io_id:
                return element
        return None


@dataclass(frozen=True, slots=True)
class AvlPacket:
    """One AVL data packet: its codec and its records (the reply counts them)."""

    codec_id: int
    records: tuple[AvlRecord, ...]


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()


def crc16_ibm(data: bytes) -> int:
    """CRC-16/IBM (also called CRC-16/ARC): polynomial 0x8005 reflected (0xA001), init 0.
    Byte at a time through a table of the 256 bit-at-a-time results."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def reply(accepted: int) -> bytes:
    """The server's answer to an AVL packet: how many records it accepted, 4 bytes big-endian."""
    return accepted.to_bytes(4, "big")


# -- the IMEI handshake ------------------------------------------------------------------------


def imei_bytes_needed(prefix: bytes) -> int:
    """How many bytes the whole handshake takes, as far as ``prefix`` tells (2 until the length
    is known). Raises ``bad_imei`` for a length that cannot be an IMEI, so a reader stops early."""
    if len(prefix) < 2:
        return 2
    length = int.from_bytes(prefix[:2], "big")
    if length != IMEI_DIGITS:
        raise CodecError(
            REASON_BAD_IMEI,
            f"the handshake announces {length} bytes of IMEI, but an IMEI has {IMEI_DIGITS} "
            f"digits (first bytes {prefix[:8].hex()}): is this a Teltonika device speaking "
            "Codec 8 over TCP? Check the server settings on the device",
            offset=0,
        )
    return 2 + length


def decode_imei(handshake: bytes) -> str:
    """The IMEI of a complete handshake (2-byte length, then that many ASCII digits)."""
    needed = imei_bytes_needed(handshake)
    if len(handshake) < needed:
        raise CodecError(
            REASON_TRUNCATED,
            f"the handshake has {len(handshake)} of its {needed} bytes: wait for the rest",
            offset=len(handshake),
        )
    if len(handshake) > needed:
        raise CodecError(
            REASON_BAD_IMEI,
            f"the handshake has {len(handshake) - needed} bytes after the IMEI: a device sends "
            "its IMEI alone and waits for the reply before it sends data",
            offset=needed,
        )
    text = handshake[2:needed]
    if not all(0x30 <= byte <= 0x39 for byte in text):
        raise CodecError(
            REASON_BAD_IMEI,
            f"the IMEI must be {IMEI_DIGITS} ASCII digits, got {text!r}",
            offset=2,
        )
    return text.decode("ascii")


# -- AVL data packets --------------------------------------------------------------------------


def bytes_needed(prefix: bytes) -> int:
    """How many bytes the whole AVL packet takes, as far as ``prefix`` tells: 8 until the
    preamble and the data field length are in, then the exact size. For a TCP stream reader:
    wait until the buffer holds that many. Raises ``bad_preamble`` or ``length_mismatch`` as soon
    as the prefix shows the stream is not a Codec 8 packet (the reader should drop the device)."""
    head = prefix[:4]
    if head != PREAMBLE[: len(head)]:
        raise CodecError(
            REASON_BAD_PREAMBLE,
            f"an AVL packet starts with four zero bytes, this one with {head.hex()}: the stream "
            "is out of step (or the device does not speak Codec 8/8E over TCP); close the "
            "connection so that the device reconnects and sends its IMEI again",
            offset=0,
        )
    if len(prefix) < HEADER_BYTES:
        return HEADER_BYTES
    length = int.from_bytes(prefix[4:8], "big")
    if not MIN_DATA_FIELD_LENGTH <= length <= MAX_DATA_FIELD_LENGTH:
        raise CodecError(
            REASON_LENGTH_MISMATCH,
            f"the data field length is {length} bytes, outside {MIN_DATA_FIELD_LENGTH}.."
            f"{MAX_DATA_FIELD_LENGTH}: not a Codec 8/8E packet; close the connection",
            offset=4,
        )
    return HEADER_BYTES + length + CRC_BYTES


class _Cursor:
    """Reads big-endian fields of the data field; running past its end is a length mismatch
    (the CRC was right, so the device itself wrote inconsistent lengths or counts). ``what``
    labels are constants: this runs for every IO value of every packet."""

    __slots__ = ("at", "data", "end")

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data = data
        self.at = start
        self.end = end

    def need(self, size: int, what: str) -> int:
        """The offset of the next ``size`` bytes, which it steps over."""
        at = self.at
        if at + size > self.end:
            raise CodecError(
                REASON_LENGTH_MISMATCH,
                f"{what} needs {size} bytes at byte {at}, past the end of the data field "
                f"(byte {self.end}): the data field length and the records disagree; the "
                "device's firmware wrote a packet that cannot be read, report it to the fleet's "
                "device administrator",
                offset=at,
            )
        self.at = at + size
        return at

    def take(self, size: int, what: str) -> bytes:
        at = self.need(size, what)
        return self.data[at : at + size]

    def uint(self, size: int, what: str) -> int:
        at = self.need(size, what)
        return int.from_bytes(self.data[at : at + size], "big")


# timestamp, priority, longitude, latitude, altitude, angle, satellites, speed
_FIXED = struct.Struct(">QBiihHBH")


def _io(cursor: _Cursor, extended: bool, index: int) -> tuple[int, tuple[IoElement, ...]]:
    width = 2 if extended else 1  # ids and counts
    event_io_id = cursor.uint(width, "the event IO id")
    start = cursor.at
    total = cursor.uint(width, "the IO count")
    elements: list[IoElement] = []
    data = cursor.data
    for size in FIXED_WIDTHS:
        for _ in range(cursor.uint(width, "an IO group count")):
            at = cursor.need(width + size, "an IO element")
            io_id = int.from_bytes(data[at : at + width], "big")
            elements.append(IoElement(io_id, data[at + width : at + width + size]))
    if extended:
        for _ in range(cursor.uint(2, "the NX count")):
            io_id = cursor.uint(2, "an NX IO id")
            length = cursor.uint(2, "the length of an NX value")
            elements.append(IoElement(io_id, cursor.take(length, "an NX value"), variable=True))
    if total != len(elements):
        raise CodecError(
            REASON_COUNT_MISMATCH,
            f"record {index} announces {total} IO elements but its groups hold {len(elements)}: "
            "the device's firmware wrote an inconsistent record; report it to the fleet's "
            "device administrator",
            offset=start,
        )
    return event_io_id, tuple(elements)


def _record(cursor: _Cursor, extended: bool, index: int) -> AvlRecord:
    at = cursor.need(RECORD_FIXED_BYTES, "a record's timestamp, priority and GPS element")
    timestamp_ms, priority, longitude, latitude, altitude, angle, satellites, speed = (
        _FIXED.unpack_from(cursor.data, at)
    )
    gps = GpsElement(longitude / 1e7, latitude / 1e7, altitude, angle, satellites, speed)
    event_io_id, io = _io(cursor, extended, index)
    return AvlRecord(timestamp_ms, priority, gps, event_io_id, io)


def decode_packet(packet: bytes) -> AvlPacket:
    """Decode one complete AVL data packet (exactly its bytes, as :func:`bytes_needed` says).

    Checks, in order: the preamble, the length, the CRC-16 (so a packet damaged in transit is a
    ``crc_mismatch`` rather than some parse error), the codec id, then the records and counts.
    """
    needed = bytes_needed(packet)
    if len(packet) < needed:
        raise CodecError(
            REASON_TRUNCATED,
            f"the packet has {len(packet)} of its {needed} bytes: a stream reader waits for the "
            "rest (bytes_needed); a whole packet this short was cut off in transit",
            offset=len(packet),
        )
    if len(packet) > needed:
        raise CodecError(
            REASON_LENGTH_MISMATCH,
            f"the data field length says the packet has {needed} bytes, it has {len(packet)}: "
            "pass exactly one packet (bytes_needed says where it ends)",
            offset=needed,
        )
    end = needed - CRC_BYTES
    sent_crc = int.from_bytes(packet[end:], "big")
    crc = crc16_ibm(packet[HEADER_BYTES:end])
    if sent_crc != crc:
        raise CodecError(
            REASON_CRC_MISMATCH,
            f"the packet's CRC-16 field is 0x{sent_crc:08X} but its bytes give 0x{crc:04X}: "
            "damaged in transit; do not count its records, the device sends it again",
            offset=end,
        )
    codec_id = packet[HEADER_BYTES]
    if codec_id not in CODECS:
        raise CodecError(
            REASON_UNKNOWN_CODEC,
            f"codec id 0x{codec_id:02X} is neither Codec 8 (0x08) nor Codec 8 Extended (0x8E): "
            "set the device's data protocol to Codec 8 or Codec 8 Extended (Configurator, "
            "System settings, Data protocol)",
            offset=HEADER_BYTES,
        )
    count = packet[HEADER_BYTES + 1]
    count_again = packet[end - 1]
    if count != count_again:
        raise CodecError(
            REASON_COUNT_MISMATCH,
            f"number of data 1 is {count} but number of data 2 is {count_again}: the packet "
            "is inconsistent; report the device's firmware to the fleet's device administrator",
            offset=end - 1,
        )
    cursor = _Cursor(packet, HEADER_BYTES + 2, end - 1)
    extended = codec_id == CODEC_8_EXTENDED
    records = tuple(_record(cursor, extended, index) for index in range(count))
    if cursor.at != cursor.end:
        raise CodecError(
            REASON_LENGTH_MISMATCH,
            f"the {count} records end at byte {cursor.at}, but number of data 2 is at byte "
            f"{cursor.end}: the data field length and the records disagree; report the "
            "device's firmware to the fleet's device administrator",
            offset=cursor.at,
        )
    return AvlPacket(codec_id, records)
