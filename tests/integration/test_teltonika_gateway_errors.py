"""`logistream gateway teltonika` when Kafka will not take its readings, on real Kafka.

- A delivery that fails for good (the telemetry topic does not exist and the broker creates none;
  a principal not allowed to write it, on a stack with ACLs) means no reply: the connection is
  closed, the device keeps its records and sends them again, and the gateway goes on serving.
- A fatal producer error (a principal allowed to write no topic at all: Kafka refuses the
  idempotent producer its id, which librdkafka reports as fatal) stops the gateway with one
  line saying why and exit 2, never a gateway that accepts devices and answers none.
- The gateway raises its own soft open-file limit to the hard one (each device is a socket).
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import LOGISTREAM, running, wait_until
from logistream.config import Settings, child_env
from logistream.devices.codec8 import CODEC_8, AvlPacket, AvlRecord, GpsElement, IoElement
from logistream.devices.codec8_encode import encode_imei, encode_packet
from logistream.stack.process import free_port
from logistream.stack.temporary import TemporaryStack, temporary_stack_control

IMEI = "864559061234506"  # KCD 219D of the shipped registry: one probe on IO 72
GPS = GpsElement(36.8219, -1.2921, 1700, 135, 9, 57)


def _packet() -> bytes:
    start_ms = (int(time.time()) - 3600) * 1000  # an hour ago: never "from the future"
    records = tuple(
        AvlRecord(start_ms + 30_000 * n, 0, GPS, 0, (IoElement(72, (40 + n).to_bytes(4, "big")),))
        for n in range(3)
    )
    return encode_packet(AvlPacket(CODEC_8, records))


def _exchange(port: int) -> tuple[bytes, int | None]:
    """A tracker's handshake and one packet: (handshake answer, reply count or None when the
    gateway closed the connection without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(encode_imei(IMEI))
        accepted = sock.recv(1)
        if accepted != b"\x01":
            return accepted, None
        sock.sendall(_packet())
        reply = b""
        while len(reply) < 4:
            chunk = sock.recv(4 - len(reply))
            if not chunk:
                return accepted, None
            reply += chunk
        return accepted, int.from_bytes(reply, "big")


def _kafka_failures(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("logistream_teltonika_kafka_failures_total "):
                return float(line.split()[1])
    return 0.0


def _argv(port: int, metrics_port: int | None = None) -> list[str]:
    argv = [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port),
            "--kafka-timeout", "3"]  # fmt: skip
    return argv + (["--metrics-port", str(metrics_port)] if metrics_port else [])


def _no_reply_then_serving(env: dict[str, str], log: Path) -> None:
    """Two devices in turn: neither gets a reply, both are accepted (the gateway still serves),
    each failure is counted, and SIGTERM still stops it with exit 0 (``running``)."""
    port, metrics_port = free_port(), free_port()
    with running(_argv(port, metrics_port), env, log, "teltonika gateway") as proc:
        wait_until(lambda: "listening" in log.read_text() or proc.poll() is not None, 90)
        assert proc.poll() is None, log.read_text()
        for attempt in (1, 2):
            assert _exchange(port) == (b"\x01", None)
            assert _kafka_failures(metrics_port) == attempt
        assert proc.poll() is None, log.read_text()
    assert "not answered" in log.read_text()


def test_a_missing_topic_means_no_reply_and_the_gateway_goes_on(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    """The stack's broker creates no topic on demand (auto.create.topics.enable=false)."""
    env = {**settings_env, "LOGISTREAM_TOPIC_TELEMETRY": f"{settings.topic_telemetry}.missing"}
    _no_reply_then_serving(env, tmp_path / "gateway.log")


def test_the_gateway_raises_its_open_file_limit(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    """Started with a soft limit of 256 (a hard one of 4,096), it serves with 4,096."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the hard open-file limit here is {hard}")

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    port, log = free_port(), tmp_path / "gateway.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        _argv(port), env=settings_env, stdout=out, stderr=subprocess.STDOUT,
        preexec_fn=low_soft_limit,
    )  # fmt: skip
    out.close()
    try:
        wait_until(lambda: "listening" in log.read_text() or proc.poll() is not None, 90)
        assert proc.poll() is None, log.read_text()
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
        assert line.split()[3:5] == ["4096", "4096"], line
    finally:
        proc.terminate()
        assert proc.wait(60) == 0, log.read_text()
    assert "open-file limit" not in log.read_text()  # 4,096 is room enough: no error line


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporaryStack]:
    """A stack of its own with SASL and ACLs: each service's principal may do its job only."""
    home = tmp_path_factory.mktemp("secure-home")
    with temporary_stack_control(home, kafka_heap="384m", secure=True) as stack:
        yield stack


def _as(stack: TemporaryStack, service: str) -> dict[str, str]:
    env = child_env(stack.service_settings(service))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_a_topic_it_may_not_write_means_no_reply_and_the_gateway_goes_on(
    secure_stack: TemporaryStack, tmp_path: Path
) -> None:
    """The dashboard's principal may write the command topic only: Kafka gives its producer an
    id, then refuses each reading for the telemetry topic (TOPIC_AUTHORIZATION_FAILED)."""
    _no_reply_then_serving(_as(secure_stack, "dashboard"), tmp_path / "gateway.log")


def test_a_fatal_producer_error_stops_the_gateway_with_one_line_and_exit_2(
    secure_stack: TemporaryStack, tmp_path: Path
) -> None:
    """The notify service's principal may write no topic: Kafka refuses the idempotent producer
    its id (CLUSTER_AUTHORIZATION_FAILED), fatal for librdkafka. The gateway stops by itself:
    whatever device reached it before got no reply."""
    port, log = free_port(), tmp_path / "gateway.log"
    out = log.open("wb")
    proc = subprocess.Popen(
        _argv(port), env=_as(secure_stack, "notify"), stdout=out, stderr=subprocess.STDOUT
    )
    out.close()
    replies: list[int | None] = []
    try:
        deadline = time.monotonic() + 90
        while proc.poll() is None and time.monotonic() < deadline:
            if "listening" in log.read_text():
                # Refused or reset: the gateway is stopping.
                with contextlib.suppress(OSError):
                    replies.append(_exchange(port)[1])
            time.sleep(0.1)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    print(text[-3000:])
    assert code == 2, text[-3000:]
    assert all(reply is None for reply in replies), replies
    stopped = [line for line in text.splitlines() if line.startswith("logistream:")]
    assert len(stopped) == 1, text[-3000:]
    assert stopped[0].startswith(
        "logistream: teltonika gateway stopped: the Kafka producer failed fatally: "
    )
    assert "Cluster authorization failed" in stopped[0], stopped[0]
    assert "stopped cleanly" not in text
