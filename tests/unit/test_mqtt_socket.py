"""The MQTT gateway's buffered socket, over a real socket pair: many small reads are served by
one ``recv()``, writes leave together on ``flush()``, nothing is lost or reordered, and a
closed peer shows as a non-blocking socket shows it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from tests.helpers import seeded_random

from logistream.ingest.mqtt_socket import FLUSH_BYTES, BufferedSocket


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(5)
    yield BufferedSocket(ours), peer
    ours.close()
    peer.close()


class CountingSocket:
    """A real socket that counts the system calls made on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.recvs = 0
        self.sends = 0

    def recv(self, n: int) -> bytes:
        self.recvs += 1
        return self.sock.recv(n)

    def send(self, data: bytes) -> int:
        self.sends += 1
        return self.sock.send(data)

    def fileno(self) -> int:
        return self.sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def close(self) -> None:
        self.sock.close()


def test_small_reads_of_random_sizes_give_back_the_stream_in_order() -> None:
    rng = seeded_random("mqtt_socket reads")
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    counting = CountingSocket(ours)
    buffered = BufferedSocket(counting)
    sent = bytes(rng.randrange(256) for _ in range(50_000))
    peer.sendall(sent)
    got = bytearray()
    while len(got) < len(sent):
        got += buffered.recv(rng.choice((1, 1, 2, 7, 120, 4096)))
    assert bytes(got) == sent
    assert buffered.pending() == 0
    assert counting.recvs <= 3  # not one a packet part: the kernel gave it in large pieces
    with pytest.raises(BlockingIOError):
        buffered.recv(1)
    ours.close()
    peer.close()


def test_pending_counts_what_was_read_and_not_taken(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.sendall(b"\x30\x05hello")
    assert buffered.recv(1) == b"\x30"
    assert buffered.pending() == 6
    assert buffered.recv(1) == b"\x05"
    assert buffered.recv(100) == b"hello"  # a short read, as a socket gives
    assert buffered.pending() == 0


def test_writes_wait_for_flush_and_leave_in_one_send() -> None:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(0.2)
    counting = CountingSocket(ours)
    buffered = BufferedSocket(counting)
    acks = [bytes((0x40, 2, mid >> 8, mid & 0xFF)) for mid in range(1, 301)]
    for ack in acks:
        assert buffered.send(ack) == 4
    assert counting.sends == 0
    with pytest.raises(TimeoutError):
        peer.recv(10)
    buffered.flush()
    assert counting.sends == 1
    assert buffered.unsent == 0
    received = b""
    while len(received) < 1200:
        received += peer.recv(4096)
    assert received == b"".join(acks)
    ours.close()
    peer.close()


def test_a_large_backlog_goes_out_before_flush(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    buffered.send(b"x" * (FLUSH_BYTES + 1))
    assert buffered.unsent == 0
    assert len(peer.recv(FLUSH_BYTES + 1)) > 0


def test_what_the_kernel_cannot_take_now_stays_for_the_next_flush(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    total = 8 * 1024 * 1024  # more than a socket pair's buffers hold
    for _ in range(total // FLUSH_BYTES):
        buffered.send(b"y" * FLUSH_BYTES)
    assert buffered.unsent > 0
    received = 0
    while received < total:
        received += len(peer.recv(1 << 20))
        buffered.flush()
    assert received == total
    assert buffered.unsent == 0


def test_close_sends_what_is_left_first(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, peer = pair
    buffered.send(b"\xe0\x00")  # DISCONNECT
    buffered.close()
    assert peer.recv(10) == b"\xe0\x00"
    assert peer.recv(10) == b""


def test_a_closed_peer_reads_as_the_end_and_a_failed_write_is_reported(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, peer = pair
    peer.close()
    assert buffered.recv(1) == b""
    buffered.send(b"\x40\x02\x00\x01")
    buffered.flush()  # EPIPE: remembered, not raised here
    with pytest.raises(ConnectionError):
        buffered.send(b"\x40\x02\x00\x02")
    with pytest.raises(ConnectionError):
        buffered.recv(1)


def test_the_client_hands_messages_to_on_message_or_to_per_topic_callbacks() -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from logistream.ingest.mqtt_socket import BulkClient

    client = BulkClient(CallbackAPIVersion.VERSION2, client_id="t", manual_ack=True)
    seen: list[tuple[str, bytes]] = []
    client.on_message = lambda _c, _u, m: seen.append(("any", m.payload))
    message = mqtt.MQTTMessage(mid=1, topic=b"logistream/devices/tu-1/telemetry")
    message.payload = b"{}"
    client._handle_on_message(message)
    assert seen == [("any", b"{}")]
    # Once a per-topic callback is registered, paho's own dispatch (topic matching) serves.
    client.message_callback_add(
        "logistream/devices/+/telemetry", lambda _c, _u, m: seen.append(("topic", m.payload))
    )
    client._handle_on_message(message)
    assert seen == [("any", b"{}"), ("topic", b"{}")]
