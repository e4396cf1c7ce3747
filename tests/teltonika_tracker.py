"""A Teltonika tracker for the gateway tests (no tests here): Codec 8/8E packets of a two-probe
device, sent over TCP as a real device sends them: each packet again, after a reconnect, until
the gateway's reply counts all its records."""

from __future__ import annotations

import socket
import threading
import time

from logistream.devices.codec8 import (
    CODEC_8,
    CODEC_8_EXTENDED,
    AvlPacket,
    AvlRecord,
    GpsElement,
    IoElement,
)
from logistream.devices.codec8_encode import encode_imei, encode_packet
from logistream.ingest.device_event_ids import device_event_id

IMEI = "352093081452251"  # KBX 123A: front (IO 72) and rear (IO 73)
TRUCK = "KBX 123A"
PROBES = ("front", "rear")
GPS = GpsElement(36.8219, -1.2921, 1700, 135, 9, 57)


def packets(start_ms: int, count: int, records: int) -> list[bytes]:
    """``count`` packets of ``records`` records one second apart from ``start_ms``, each record
    carrying both probes; Codec 8 and 8 Extended alternate."""
    out = []
    for p in range(count):
        avl = tuple(
            AvlRecord(
                start_ms + 1000 * (p * records + r),
                0,
                GPS,
                0,
                (
                    IoElement(72, (40 + r % 10).to_bytes(4, "big")),
                    IoElement(73, (20 + p % 7).to_bytes(4, "big")),
                ),
            )
            for r in range(records)
        )
        out.append(encode_packet(AvlPacket(CODEC_8 if p % 2 else CODEC_8_EXTENDED, avl)))
    return out


def expected_ids(start_ms: int, readings_per_probe: int) -> set[str]:
    """The event ids the gateway gives those records' readings."""
    return {
        device_event_id(IMEI, probe, str(start_ms + 1000 * n))
        for n in range(readings_per_probe)
        for probe in PROBES
    }


class Tracker(threading.Thread):
    """Sends each packet until it is acknowledged in full, reconnecting as a device does."""

    def __init__(self, port: int, packets: list[bytes], records: int, pace_s: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.packets = packets
        self.records = records
        self.pace_s = pace_s
        self.sent = 0
        """Packets acknowledged in full so far."""
        self.resent = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def _connect(self) -> socket.socket:
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=15)
                sock.sendall(encode_imei(IMEI))
                if sock.recv(1) == b"\x01":
                    return sock
                sock.close()
            except OSError:
                pass
            time.sleep(0.1)

    def _send(self, sock: socket.socket, packet: bytes) -> int | None:
        try:
            sock.sendall(packet)
            reply = b""
            while len(reply) < 4:
                chunk = sock.recv(4 - len(reply))
                if not chunk:
                    return None
                reply += chunk
            return int.from_bytes(reply, "big")
        except OSError:
            return None

    def run(self) -> None:
        try:
            sock = self._connect()
            for packet in self.packets:
                while self._send(sock, packet) != self.records:
                    self.resent += 1
                    sock.close()
                    sock = self._connect()
                self.sent += 1
                time.sleep(self.pace_s)  # a fleet's pace, spread over the kills
            sock.close()
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()
