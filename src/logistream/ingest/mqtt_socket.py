"""A paho-mqtt client whose socket reads and writes in bulk, for the MQTT gateway's own loop.

paho-mqtt (2.1, pinned) parses a packet with three ``recv()`` calls (the command byte, the
remaining length, the rest) and writes each packet with its own ``send()``: at thousands of
messages a second the gateway spent more on system calls than on its messages. Here the
client's socket is a :class:`BufferedSocket`: one ``recv()`` takes whatever the kernel holds
(up to :data:`RECV_BYTES`), and paho's small reads are served from it; paho's writes (the
acknowledgements) are gathered and leave in one ``send()`` when the gateway calls ``flush()``,
once per round of its loop. paho keeps all of the protocol: packet parsing, the session, the
keep-alive, the acknowledgements themselves.

Nothing here changes what is acknowledged or when it may be: an acknowledgement is still queued
only in the Kafka delivery report of its record, and reaches the broker at the latest at the end
of that round. A gateway killed before the flush leaves those messages unacknowledged, so the
broker delivers them again, which the deterministic event ids make harmless.
"""

from __future__ import annotations

import ssl
from typing import Any, Final

import paho.mqtt.client as mqtt

RECV_BYTES: Final = 256 * 1024
"""The most one ``recv()`` takes: about 2,000 readings of the usual size."""
FLUSH_BYTES: Final = 64 * 1024
"""Writes gathered beyond this go out at once, without waiting for ``flush()``."""

_WOULD_BLOCK: Final = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class BufferedSocket:
    """A connected socket (plain or TLS) with a read buffer and a write buffer, offering the
    calls paho-mqtt makes on its socket (``recv``, ``send``, ``pending``, ``fileno``,
    ``setblocking``, ``close``). Not thread-safe: one thread owns the MQTT connection."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._in = b""
        self._pos = 0
        self._out = bytearray()
        self._error: OSError | None = None
        """A failed ``send()`` in ``flush()``: the next read or write reports it to paho."""

    # ---- reading -------------------------------------------------------------------------

    def recv(self, bufsize: int) -> bytes:
        """Up to ``bufsize`` bytes: from the buffer, else from one large ``recv()``; raises
        ``BlockingIOError`` when nothing has arrived and returns ``b""`` at the end, as a
        non-blocking socket does."""
        held = len(self._in) - self._pos
        if held > 0:
            start = self._pos
            self._pos = start + min(bufsize, held)
            return self._in[start : self._pos]
        if self._error is not None:
            raise ConnectionError(f"the MQTT connection failed: {self._error}")
        data: bytes = self._sock.recv(max(bufsize, RECV_BYTES))
        if len(data) <= bufsize:
            self._in, self._pos = b"", 0
            return data
        self._in, self._pos = data, bufsize
        return data[:bufsize]

    def pending(self) -> int:
        """Bytes already read and not yet taken (a TLS socket's own decrypted bytes too)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._in) - self._pos + int(inner)

    # ---- writing -------------------------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Take all of ``data`` for the next ``flush()``."""
        if self._error is not None:
            raise ConnectionError(f"the MQTT connection failed: {self._error}")
        self._out += data
        if len(self._out) >= FLUSH_BYTES:
            self.flush()
        return len(data)

    @property
    def unsent(self) -> int:
        """Bytes taken by ``send()`` that the kernel has not taken yet."""
        return len(self._out)

    def flush(self) -> None:
        """Hand what was sent to the kernel, as much as it takes now (the rest stays for the
        next flush: the caller waits for the socket to be writable). A failed connection is
        remembered and reported to paho by its next read or write."""
        while self._out and self._error is None:
            try:
                sent = self._sock.send(self._out)
            except _WOULD_BLOCK:
                return
            except OSError as error:
                self._error = error
                self._out.clear()
                return
            del self._out[:sent]

    # ---- the rest of a socket ------------------------------------------------------------

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def close(self) -> None:
        """Send what is left if the kernel takes it now (paho closes right after writing a
        DISCONNECT), then close."""
        self.flush()
        self._sock.close()


class BulkClient(mqtt.Client):
    """paho's client with a :class:`BufferedSocket` (``_create_socket`` is paho's own hook for
    wrapping its socket; paho-mqtt is pinned, and the gateway's tests run over it), served by
    one thread.

    It also hands each message straight to ``on_message`` while no per-topic callback is
    registered (``message_callback_add``: the gateway registers none): paho matches every
    message's topic against those callbacks and takes two locks first, a tenth of the
    gateway's time a message."""

    _topic_callbacks = False

    def message_callback_add(self, sub: str, callback: Any) -> None:
        self._topic_callbacks = True
        super().message_callback_add(sub, callback)

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        on_message = self._on_message
        if self._topic_callbacks or on_message is None:
            super()._handle_on_message(message)
            return
        on_message(self, self._userdata, message)
