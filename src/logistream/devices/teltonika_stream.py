"""One Teltonika TCP connection, framed: feed it bytes as they arrive, get whole messages out.

TCP gives no message boundaries: one read may hold half a packet, or a packet and the start of
the next. :class:`TeltonikaStream` keeps what it was given until a message is complete, using the
lengths the protocol carries (``codec8.imei_bytes_needed`` for the handshake, then
``codec8.bytes_needed`` for each AVL packet), and hands out, in order:

- :class:`Handshake`: the IMEI the connection opened with (the gateway answers 0x01 or 0x00);
- :class:`Packet`: a decoded AVL packet (the gateway answers with ``codec8.reply``);
- :class:`BadPacket`: a framed packet that was refused (CRC, codec, counts). Framing is intact,
  so the stream goes on; the gateway answers 0 records and the device sends it again;
- :class:`Ping`: the single 0xFF byte a device may send to keep its link open (not in the
  protocol page, but sent by devices: traccar's Teltonika frame decoder skips it the same way);
- :class:`Broken`: the stream cannot be framed any more (a bad handshake, a bad preamble, an
  impossible length). Nothing more comes out; the gateway closes the connection, and the device
  reconnects and starts again with its IMEI.

Pure: no sockets, no clocks. The buffer never holds more than one message's worth of bytes plus
one read, since a declared length above ``codec8.MAX_DATA_FIELD_LENGTH`` breaks the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from logistream.devices.codec8 import (
    HEADER_BYTES,
    AvlPacket,
    CodecError,
    bytes_needed,
    decode_imei,
    decode_packet,
    imei_bytes_needed,
)

PING = 0xFF


@dataclass(frozen=True, slots=True)
class Handshake:
    imei: str


@dataclass(frozen=True, slots=True)
class Packet:
    packet: AvlPacket
    raw: bytes


@dataclass(frozen=True, slots=True)
class BadPacket:
    error: CodecError
    raw: bytes
    """The packet's bytes as received, for the log."""


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Broken:
    error: CodecError
    pending: bytes
    """What was buffered when the stream broke, for the log."""


Event = Handshake | Packet | BadPacket | Ping | Broken


class TeltonikaStream:
    """The framing state of one connection: before the handshake, then packet after packet."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.imei: str | None = None
        self.broken: CodecError | None = None

    @property
    def pending(self) -> int:
        """Bytes received that are not yet a whole message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        """The messages that ``data`` completes, in order. After :class:`Broken`, nothing."""
        if self.broken is not None:
            return []
        self._buffer += data
        events: list[Event] = []
        while self._buffer:
            try:
                event = self._next()
            except CodecError as error:
                self.broken = error
                events.append(Broken(error, bytes(self._buffer)))
                self._buffer.clear()
                break
            if event is None:
                break
            events.append(event)
        return events

    def _take(self, size: int) -> bytes:
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        return chunk

    def _next(self) -> Event | None:
        """The next whole message, or None until more bytes come. Raises CodecError when the
        stream cannot be framed."""
        if self.imei is None:
            needed = imei_bytes_needed(bytes(self._buffer[:2]))
            if len(self._buffer) < needed:
                return None
            self.imei = decode_imei(self._take(needed))
            return Handshake(self.imei)
        if self._buffer[0] == PING:
            self._take(1)
            return Ping()
        needed = bytes_needed(bytes(self._buffer[:HEADER_BYTES]))
        if len(self._buffer) < needed:
            return None
        raw = self._take(needed)
        try:
            return Packet(decode_packet(raw), raw)
        except CodecError as error:
            return BadPacket(error, raw)
