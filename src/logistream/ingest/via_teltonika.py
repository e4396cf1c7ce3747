"""The simulator as Teltonika trackers: each truck connects to the Teltonika gateway over TCP as
its registry device and sends Codec 8 Extended AVL packets, as an FMB/FMC tracker does.

A reading becomes one AVL record (:func:`avl_record`), the inverse of what the gateway does with
it (``devices.io_mapping``, through the device's plan from ``ingest.teltonika_readings``): the
GPS element from the position, speed and heading, each probe's temperature on its IO element
(raw = value / the IO's scale, so it arrives rounded to the probe's resolution: 0.1 °C for a
Dallas probe, 0.01 °C for a BLE one) and the model's other fields (door, reefer, fuel,
humidity) on theirs. What a tracker cannot carry is not sent: the trip, driver and cargo ids,
``seq``, and the simulator's ``event_id`` (the gateway derives one from the IMEI, the probe and
the record's time). Broken messages of a faulty truck are JSON, which Codec 8 cannot carry: they
are counted and not sent.

Each tracker opens its connection with the IMEI handshake, gathers its records into packets of
:data:`RECORDS_PER_PACKET` and sends each packet only after the reply to the previous one (one
packet in flight per tracker, all trackers in parallel). A reply short of the packet's record
count, a silent gateway or a closed connection makes the tracker reconnect and send the same
packet again, as a real one does; the gateway's event ids make the archive keep it once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from logistream.devices.codec8 import (
    CODEC_8_EXTENDED,
    IMEI_ACCEPT,
    AvlPacket,
    AvlRecord,
    GpsElement,
    IoElement,
)
from logistream.devices.codec8_encode import encode_imei, encode_packet
from logistream.devices.io_mapping import BOOL_FIELDS, IoSpec
from logistream.errors import LogiStreamError
from logistream.events import Reading
from logistream.ingest.faults import RawMessage
from logistream.ingest.simulator import Emission
from logistream.ingest.teltonika_readings import DevicePlan
from logistream.ingest.via_devices import position_of, probe_temperatures
from logistream.registry.devices import Device

RECORDS_PER_PACKET: Final = 5
FLUSH_AFTER_S: Final = 2.0
"""A tracker with records waiting this long sends them even if the packet is not full."""
REPLY_TIMEOUT_S: Final = 15.0
"""Longer than the gateway's Kafka timeout (10 s by default): no reply by then is a lost one."""
RESEND_FOR_S: Final = 60.0
"""A packet still not acknowledged after this long of re-sending ends the run."""
RETRY_PAUSE_S: Final = 0.5
SATELLITES: Final = 9
"""Satellites in view with a fix; 0 (no fix) when the reading has no position."""

IO_BYTES: Final[dict[int, int]] = {
    # Teltonika's AVL ID tables give each IO element its size; these are the mapping file's.
    1: 1, 2: 1, 3: 1, 239: 1, 89: 1, 48: 1,
    66: 2, 86: 2, 25: 2, 26: 2, 27: 2, 28: 2,
    72: 4, 73: 4, 74: 4, 75: 4,
}  # fmt: skip


def _io_element(spec: IoSpec, value: float) -> IoElement:
    """The IO element carrying ``value`` in ``spec``'s unit, sized as the device sends it."""
    raw = round(value / spec.scale)
    size = IO_BYTES.get(spec.io_id)
    if size is None:
        size = next((n for n in (1, 2, 4) if -(1 << (8 * n - 1)) <= raw < 1 << (8 * n - 1)), 8)
    return IoElement(spec.io_id, raw.to_bytes(size, "big", signed=spec.signed))


def avl_record(reading: Reading, plan: DevicePlan, positions: Sequence[str]) -> AvlRecord:
    """One reading as the AVL record the device of ``plan`` would send (see the module).
    ``positions``: where each of ``plan.probes`` sits, for its temperature."""
    if reading.lat is not None and reading.lon is not None:
        gps = GpsElement(
            longitude=reading.lon,
            latitude=reading.lat,
            altitude=0,
            angle=round(reading.heading_deg or 0.0) % 360,
            satellites=SATELLITES,
            speed=round(reading.speed_kmh or 0.0),
        )
    else:
        gps = GpsElement(0.0, 0.0, 0, 0, 0, 0)
    io: list[IoElement] = []
    temps = probe_temperatures(positions, reading.temp)
    for probe, temp in zip(plan.probes, temps, strict=True):
        io.append(_io_element(probe.io, temp))
    for mapped in plan.model.fields:
        value = getattr(reading, mapped.field, None)
        if value is None:
            continue  # ignition, external voltage: the simulator has none
        if mapped.field in BOOL_FIELDS:
            value = float(bool(value) != mapped.invert)
        io.append(_io_element(mapped.io, float(value)))
    return AvlRecord(
        timestamp_ms=round(reading.timestamp * 1000),
        priority=0,
        gps=gps,
        event_io_id=0,
        io=tuple(io),
    )


def packet_bytes(records: Sequence[AvlRecord]) -> bytes:
    return encode_packet(AvlPacket(CODEC_8_EXTENDED, tuple(records)))


class NotAcknowledged(Exception):
    """The gateway did not accept the whole packet (short reply, silence, closed connection)."""


@dataclass
class Tracker:
    """One device's TCP connection to the gateway and the records it has not sent yet."""

    device: Device
    plan: DevicePlan
    positions: tuple[str, ...]
    address: tuple[str, int]
    records: list[AvlRecord] = field(default_factory=list)
    oldest: float = 0.0
    """When the oldest waiting record was made (monotonic)."""
    in_flight: tuple[bytes, int] | None = None
    """The packet sent and not answered yet, and its record count."""
    sock: socket.socket | None = None

    def connect(self) -> None:
        """Open the connection with the IMEI handshake; raises LogiStreamError if refused."""
        self.close()
        sock = socket.create_connection(self.address, timeout=REPLY_TIMEOUT_S)
        try:
            sock.sendall(encode_imei(self.device.device_id))
            answer = _receive(sock, 1)
        except (OSError, NotAcknowledged):
            sock.close()
            raise
        if answer != IMEI_ACCEPT:
            sock.close()
            raise LogiStreamError(
                f"the Teltonika gateway at {self.address[0]}:{self.address[1]} refused IMEI "
                f"{self.device.device_id} (truck {self.device.truck_id}): is it in the gateway's "
                "devices.toml (same LOGISTREAM_REGISTRY_DIR)?"
            )
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def take_packet(self) -> None:
        """Make the waiting records the packet in flight."""
        self.in_flight = (packet_bytes(self.records), len(self.records))
        self.records = []

    def transmit(self) -> None:
        assert self.in_flight is not None
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(self.in_flight[0])

    def await_reply(self) -> int:
        """The number of records acknowledged; raises NotAcknowledged if short."""
        assert self.in_flight is not None
        assert self.sock is not None
        accepted = int.from_bytes(_receive(self.sock, 4), "big")
        if accepted != self.in_flight[1]:
            raise NotAcknowledged(f"{accepted} of {self.in_flight[1]} records accepted")
        self.in_flight = None
        return accepted


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise NotAcknowledged("the gateway closed the connection")
        data += chunk
    return data


class TeltonikaDevices:
    """Every truck's tracker, one packet in flight each."""

    def __init__(
        self,
        devices: Mapping[str, Device],
        plans: Mapping[str, DevicePlan],
        address: tuple[str, int],
    ) -> None:
        """``devices`` by truck id; ``plans`` by IMEI (``teltonika_readings.device_plans``)."""
        self.address = address
        self._trackers: dict[str, Tracker] = {}
        self._by_key: dict[bytes, Tracker] = {}
        for truck_id, device in devices.items():
            plan = plans[device.device_id]
            positions = tuple(position_of(device, p.probe_id) for p in plan.probes)
            tracker = Tracker(device, plan, positions, address)
            self._trackers[truck_id] = tracker
            self._by_key[truck_id.encode()] = tracker
        self.sent = self.acknowledged = self.packets = self.resent = self.not_sent = 0

    def connect(self) -> None:
        """Every tracker's handshake; raises LogiStreamError in one line when it fails."""
        for tracker in self._trackers.values():
            try:
                tracker.connect()
            except (OSError, NotAcknowledged) as error:
                self._close_all()
                host, port = self.address
                raise LogiStreamError(
                    f"cannot reach the Teltonika gateway at {host}:{port} ({error}): start "
                    "`logistream gateway teltonika`, or give --gateway-address"
                ) from error

    def send(self, item: Emission) -> None:
        if isinstance(item, RawMessage):
            self.not_sent += 1
            return
        tracker = self._trackers[item.truck_id]
        if not tracker.records:
            tracker.oldest = time.monotonic()
        tracker.records.append(avl_record(item, tracker.plan, tracker.positions))
        self.sent += 1

    def service(self) -> None:
        self._exchange(lambda t: len(t.records) >= RECORDS_PER_PACKET)

    def idle(self, seconds: float) -> None:
        now = time.monotonic()
        self._exchange(lambda t: bool(t.records) and now - t.oldest >= FLUSH_AFTER_S)
        time.sleep(max(0.0, seconds - (time.monotonic() - now)))

    def _exchange(self, due: Callable[[Tracker], bool]) -> None:
        """Send one packet from each due tracker, then read each reply (re-sending any packet
        not acknowledged)."""
        ready = [t for t in self._trackers.values() if due(t)]
        for tracker in ready:
            tracker.take_packet()
            self.packets += 1
            try:
                tracker.transmit()
            except (OSError, NotAcknowledged):
                tracker.close()  # the reply wait below re-sends on a new connection
        for tracker in ready:
            self._settle(tracker)

    def _settle(self, tracker: Tracker) -> None:
        """Wait for the reply to the tracker's packet; re-send until acknowledged."""
        give_up = time.monotonic() + RESEND_FOR_S
        while True:
            try:
                if tracker.sock is None:
                    tracker.transmit()
                self.acknowledged += tracker.await_reply()
                return
            except (OSError, NotAcknowledged) as error:
                tracker.close()
                if time.monotonic() > give_up:
                    host, port = self.address
                    raise LogiStreamError(
                        f"the Teltonika gateway at {host}:{port} has not acknowledged a packet "
                        f"of IMEI {tracker.device.device_id} for {RESEND_FOR_S:.0f} s "
                        f"({error}); is `logistream gateway teltonika` running and Kafka up?"
                    ) from error
                self.resent += 1
                time.sleep(RETRY_PAUSE_S)

    def close(self, stop: threading.Event) -> str:
        self._exchange(lambda t: bool(t.records))
        self._close_all()
        line = (
            f"sent {self.sent} readings as {len(self._trackers)} Teltonika trackers in "
            f"{self.packets} packets to {self.address[0]}:{self.address[1]}, "
            f"{self.acknowledged} acknowledged, {self.resent} packets re-sent"
        )
        if self.not_sent:
            line += f"; {self.not_sent} broken messages not sent (Codec 8 cannot carry them)"
        return line

    def _close_all(self) -> None:
        for tracker in self._trackers.values():
            tracker.close()
