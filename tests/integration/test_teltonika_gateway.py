"""`logistream gateway teltonika` as a real process on a real Kafka, spoken to like a tracker.

A registered IMEI sends Codec 8 and Codec 8 Extended packets (built with ``codec8_encode``): each
reply counts the packet's records, and the readings are on Kafka keyed by the truck, with probe
ids and the deterministic event ids. A forged IMEI gets 0x00; a CRC-damaged packet gets 0
records and the connection's next packet still works; a reading beyond the contract (speed) is
forwarded for the bridge's DLQ and counted. SIGTERM stops it with exit 0.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from helpers import LOGISTREAM, running, wait_until
from logistream.config import Settings
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
from logistream.kafka import make_consumer

TWO_PROBES = "352093081452251"  # KBX 123A: front (IO 72) and rear (IO 73)
ONE_PROBE = "864559061234506"  # KCD 219D: its single probe (IO 72)
FORGED = "999999999999999"
NAIROBI = GpsElement(36.8219, -1.2921, 1700, 135, 9, 57)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Tracker:
    """One device's TCP connection, as a Teltonika tracker uses it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)

    def handshake(self, imei: str) -> bytes:
        self.sock.sendall(encode_imei(imei))
        return self.sock.recv(1)

    def send(self, packet: bytes) -> int | None:
        """The reply's record count; None when the gateway closed the connection instead."""
        self.sock.sendall(packet)
        reply = b""
        while len(reply) < 4:
            chunk = self.sock.recv(4 - len(reply))
            if not chunk:
                return None
            reply += chunk
        return int.from_bytes(reply, "big")

    def closed_by_peer(self) -> bool:
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


def _packet(codec_id: int, start_ms: int, temps: list[dict[int, int]], speed: int = 57) -> bytes:
    """One record per entry (30 s apart) with those Dallas IO raw values (0.1 °C)."""
    gps = GpsElement(NAIROBI.longitude, NAIROBI.latitude, 1700, 135, 9, speed)
    records = tuple(
        AvlRecord(
            start_ms + 30_000 * n,
            0,
            gps,
            0,
            tuple(IoElement(io, raw.to_bytes(4, "big", signed=True)) for io, raw in io.items()),
        )
        for n, io in enumerate(temps)
    )
    return encode_packet(AvlPacket(codec_id, records))


def _consume(settings: Settings, expected: int) -> list[tuple[str, dict[str, object]]]:
    consumer = make_consumer(settings, f"check-{uuid.uuid4().hex[:8]}")
    consumer.subscribe([settings.topic_telemetry])
    out: list[tuple[str, dict[str, object]]] = []
    deadline = time.monotonic() + 60
    quiet_until: float | None = None
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=0.5):
                assert message.error() is None, message.error()
                out.append((message.key().decode(), json.loads(message.value())))
            if len(out) >= expected:
                # A little longer: more than expected would be a duplicate.
                quiet_until = quiet_until or time.monotonic() + 3.0
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return out


def _metric(port: int, name: str, labels: str = "") -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = "^" + re.escape(name + (f"{{{labels}}}" if labels else "")) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_gateway_answers_after_kafka_and_refuses_bad_input(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    port, metrics_port = _free_port(), _free_port()
    log = tmp_path / "gateway.log"
    argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port),
            "--metrics-port", str(metrics_port)]  # fmt: skip
    start_ms = (int(time.time()) - 3600) * 1000  # an hour ago: never "from the future"
    with running(argv, settings_env, log, "teltonika gateway") as proc:
        wait_until(lambda: "listening" in log.read_text() or proc.poll() is not None, 90)
        assert proc.poll() is None, log.read_text()

        forged = Tracker(port)
        assert forged.handshake(FORGED) == b"\x00"
        assert forged.closed_by_peer()
        forged.close()

        front_rear = Tracker(port)
        assert front_rear.handshake(TWO_PROBES) == b"\x01"
        three = _packet(CODEC_8, start_ms, [{72: 45, 73: -12}, {72: 46}, {72: 47, 73: -10}])
        assert front_rear.send(three) == 3
        # Beside it: a stream that cannot be framed, and one cut off mid-packet; each closes
        # only its own connection.
        garbage = Tracker(port)
        assert garbage.handshake(ONE_PROBE) == b"\x01"
        garbage.sock.sendall(b"\x12\x34\x56\x78" + bytes(8))
        assert garbage.closed_by_peer()
        garbage.close()
        cut = Tracker(port)
        assert cut.handshake(ONE_PROBE) == b"\x01"
        cut.sock.sendall(three[: len(three) // 2])
        cut.close()
        two = _packet(CODEC_8_EXTENDED, start_ms + 90_000, [{72: 48, 73: -9}, {72: 49, 73: -8}])
        damaged = bytearray(two)
        damaged[20] ^= 0xFF  # inside a record: the CRC no longer matches
        assert front_rear.send(bytes(damaged)) == 0
        assert front_rear.send(two) == 2  # sent again, intact, on the same connection
        # A speed beyond the contract: forwarded (the bridge files it in the DLQ), answered.
        fast = _packet(CODEC_8, start_ms + 150_000, [{72: 50, 73: -7}], speed=300)
        assert front_rear.send(fast) == 1
        front_rear.close()

        single = Tracker(port)
        assert single.handshake(ONE_PROBE) == b"\x01"
        assert single.send(_packet(CODEC_8_EXTENDED, start_ms, [{72: -183}])) == 1
        single.close()

        got = _consume(settings, expected=5 + 4 + 2 + 1)
        counted = {
            ("handshakes", 'result="refused"'): 1,
            ("bad_input", 'reason="crc_mismatch"'): 1,
            ("contract_violations", 'reason="impossible_value"'): 2,
            ("packets_acknowledged", ""): 4,
            ("bad_input", 'reason="bad_preamble"'): 1,
            ("bad_input", 'reason="truncated"'): 1,
        }
        for (name, labels), want in counted.items():
            assert _metric(metrics_port, f"logistream_teltonika_{name}_total", labels) == want

    # front+rear, front, front+rear; two records of two probes; the fast one: 11 for KBX 123A.
    kbx = [reading for key, reading in got if key == "KBX 123A"]
    assert len(kbx) == 11, got
    assert {str(r["probe_id"]) for r in kbx} == {"front", "rear"}
    for reading in kbx:
        ms = round(float(str(reading["timestamp"])) * 1000)
        assert reading["event_id"] == device_event_id(TWO_PROBES, str(reading["probe_id"]), str(ms))
        assert reading["truck_id"] == "KBX 123A"
    assert len({r["event_id"] for r in kbx}) == 11  # the damaged packet added nothing
    first = next(r for r in kbx if r["probe_id"] == "rear" and r["timestamp"] == start_ms / 1000)
    assert first["temp"] == -1.2  # raw, the offset beside it
    assert first["calibration_offset_c"] == 0.1
    assert first["calibration_certificate"] == "CAL-2026-0142"
    assert [r["speed_kmh"] for r in kbx if r["timestamp"] == (start_ms + 150_000) / 1000] == [
        300.0,
        300.0,
    ]

    kcd = [reading for key, reading in got if key == "KCD 219D"]
    assert len(kcd) == 1
    assert "probe_id" not in kcd[0]
    assert kcd[0]["event_id"] == device_event_id(ONE_PROBE, None, str(start_ms))
    assert kcd[0]["temp"] == -18.3
    assert len(got) == 12
    assert "stopped cleanly" in log.read_text()


def test_kafka_not_acknowledging_means_no_reply_and_a_closed_connection(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    """Nobody listens on the Kafka port: the packet is not answered (the device keeps it and
    sends it again later), the connection is closed, and the gateway still stops with exit 0."""
    port = _free_port()
    env = {**settings_env, "LOGISTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{_free_port()}"}
    log = tmp_path / "gateway.log"
    argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port),
            "--kafka-timeout", "2"]  # fmt: skip
    start_ms = (int(time.time()) - 3600) * 1000
    with running(argv, env, log, "teltonika gateway") as proc:
        wait_until(lambda: "listening" in log.read_text() or proc.poll() is not None, 90)
        assert proc.poll() is None, log.read_text()
        tracker = Tracker(port)
        assert tracker.handshake(TWO_PROBES) == b"\x01"
        began = time.monotonic()
        assert tracker.send(_packet(CODEC_8, start_ms, [{72: 45, 73: -12}])) is None
        assert time.monotonic() - began >= 1.5  # waited for Kafka, then gave up
        tracker.close()
    assert "not answered" in log.read_text()


# From 0.6 s the console script is running (its early stop handler is in) even on a busy
# machine; earlier, the interpreter itself may still be starting.
@pytest.mark.parametrize("after_s", [0.6, 1.5])
def test_sigterm_during_start_up_exits_zero(after_s: float, settings_env: dict[str, str]) -> None:
    argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(_free_port())]
    process = subprocess.Popen(
        argv, env=settings_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    time.sleep(after_s)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
