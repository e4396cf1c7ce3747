"""Teltonika Codec 8 / 8 Extended, encoded: what a device sends, for the tests and the simulator.

The inverse of ``devices.codec8``: ``decode_packet(encode_packet(p)) == p`` for every packet whose
IO elements are in group order (N1, N2, N4, N8, then NX), which is the order the decoder gives.
The gateway never encodes; this exists so that round trips can be tested and the simulator can
speak Codec 8 like a real tracker. A value that the codec cannot carry raises ``ValueError``.
"""

from __future__ import annotations

from logistream.devices.codec8 import (
    CODEC_8_EXTENDED,
    CODECS,
    FIXED_WIDTHS,
    IMEI_DIGITS,
    MAX_DATA_FIELD_LENGTH,
    PREAMBLE,
    AvlPacket,
    AvlRecord,
    GpsElement,
    IoElement,
    crc16_ibm,
)


def encode_imei(imei: str) -> bytes:
    """The handshake a device opens its connection with: 2-byte length, then the IMEI."""
    if len(imei) != IMEI_DIGITS or not imei.isascii() or not imei.isdigit():
        raise ValueError(f"an IMEI is {IMEI_DIGITS} ASCII digits, not {imei!r}")
    return len(imei).to_bytes(2, "big") + imei.encode("ascii")


def _uint(value: int, size: int, what: str) -> bytes:
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{what} {value} does not fit {size} unsigned bytes")
    return value.to_bytes(size, "big")


def _sint(value: int, size: int, what: str) -> bytes:
    limit = 1 << (8 * size - 1)
    if not -limit <= value < limit:
        raise ValueError(f"{what} {value} does not fit {size} signed bytes")
    return value.to_bytes(size, "big", signed=True)


def _gps(gps: GpsElement) -> bytes:
    return b"".join(
        (
            _sint(round(gps.longitude * 1e7), 4, "longitude x 1e7"),
            _sint(round(gps.latitude * 1e7), 4, "latitude x 1e7"),
            _sint(gps.altitude, 2, "altitude"),
            _uint(gps.angle, 2, "angle"),
            _uint(gps.satellites, 1, "satellites"),
            _uint(gps.speed, 2, "speed"),
        )
    )


def _io(record: AvlRecord, extended: bool) -> bytes:
    width = 2 if extended else 1
    groups: dict[int, list[IoElement]] = {size: [] for size in FIXED_WIDTHS}
    variable: list[IoElement] = []
    for element in record.io:
        if element.variable:
            if not extended:
                raise ValueError(f"IO {element.id}: Codec 8 has no variable-length (NX) group")
            variable.append(element)
        elif len(element.value) in groups:
            groups[len(element.value)].append(element)
        else:
            raise ValueError(
                f"IO {element.id}: a {len(element.value)}-byte value fits no N1/N2/N4/N8 group"
            )
    parts = [
        _uint(record.event_io_id, width, "event IO id"),
        _uint(len(record.io), width, "IO count"),
    ]
    for size in FIXED_WIDTHS:
        parts.append(_uint(len(groups[size]), width, f"N{size} count"))
        for element in groups[size]:
            parts.append(_uint(element.id, width, "IO id") + element.value)
    if extended:
        parts.append(_uint(len(variable), 2, "NX count"))
        for element in variable:
            parts.append(_uint(element.id, 2, "IO id"))
            parts.append(_uint(len(element.value), 2, "NX value length") + element.value)
    return b"".join(parts)


def encode_record(record: AvlRecord, codec_id: int) -> bytes:
    """One AVL record as it travels inside a packet of that codec."""
    return b"".join(
        (
            _uint(record.timestamp_ms, 8, "timestamp"),
            _uint(record.priority, 1, "priority"),
            _gps(record.gps),
            _io(record, codec_id == CODEC_8_EXTENDED),
        )
    )


def encode_packet(packet: AvlPacket) -> bytes:
    """The whole AVL data packet: preamble, length, codec, records, counts and CRC-16."""
    if packet.codec_id not in CODECS:
        raise ValueError(f"codec id 0x{packet.codec_id:02X} is not 0x08 or 0x8E")
    count = _uint(len(packet.records), 1, "number of records")
    body = b"".join(
        (
            bytes((packet.codec_id,)),
            count,
            *(encode_record(record, packet.codec_id) for record in packet.records),
            count,
        )
    )
    if len(body) > MAX_DATA_FIELD_LENGTH:
        raise ValueError(f"a data field of {len(body)} bytes is longer than a packet may be")
    return PREAMBLE + len(body).to_bytes(4, "big") + body + crc16_ibm(body).to_bytes(4, "big")
