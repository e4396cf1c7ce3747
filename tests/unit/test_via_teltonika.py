"""A simulated reading as a Teltonika AVL record: Codec 8E bytes that the gateway's decoder and
IO mapping turn back into the reading's fields (to the probe's resolution). Pure, no sockets."""

from __future__ import annotations

import socket
import socketserver
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from logistream.devices.codec8 import (
    IMEI_ACCEPT,
    bytes_needed,
    decode_imei,
    decode_packet,
    reply,
)
from logistream.devices.io_mapping import load_io_mappings
from logistream.events import Reading
from logistream.ingest.teltonika_readings import device_plan, readings
from logistream.ingest.via_devices import POSITION_OFFSET_C, position_of
from logistream.ingest.via_teltonika import TeltonikaDevices, avl_record, packet_bytes
from logistream.registry import load_registry

DEVICES = load_registry().devices
MODELS = load_io_mappings()


def _round_trip(reading: Reading, imei: str) -> list[dict[str, object]]:
    device = DEVICES.device(imei)
    assert device is not None
    plan = device_plan(device, MODELS)
    positions = [position_of(device, p.probe_id) for p in plan.probes]
    packet = decode_packet(packet_bytes([avl_record(reading, plan, positions)]))
    return readings(plan, packet)


def test_two_dallas_probes_door_fuel_and_position_come_back() -> None:
    reading = Reading(
        truck_id="KBX 123A",
        temp=3.44,
        timestamp=1_764_000_000.25,
        fuel=57.0,
        lat=-1.2921,
        lon=36.8219,
        speed_kmh=63.4,
        heading_deg=271.6,
        door_open=True,
        event_id="sim-x",
        trip_id="T-9",
    )
    front, rear = _round_trip(reading, "352093081452251")  # FMC130, Dallas 72 and 73
    assert (front["probe_id"], rear["probe_id"]) == ("front", "rear")
    assert front["temp"] == 3.4  # 0.1 °C: a Dallas probe's resolution
    assert rear["temp"] == round(3.44 + POSITION_OFFSET_C["rear"], 1)
    for got in (front, rear):
        assert got["truck_id"] == "KBX 123A"
        assert got["timestamp"] == 1_764_000_000.25
        assert (got["lat"], got["lon"]) == (-1.2921, 36.8219)
        assert (got["speed_kmh"], got["heading_deg"]) == (63.0, 272.0)
        assert got["door_open"] is True
        assert got["fuel"] == 57.0
        assert "trip_id" not in got  # a tracker has no trip id
    assert front["event_id"] != rear["event_id"]
    assert front["event_id"] != "sim-x"


def test_no_position_means_no_fix_and_no_position_fields() -> None:
    reading = Reading(truck_id="KCE 564E", temp=-18.25, timestamp=1_764_000_000.0)
    (got,) = _round_trip(reading, "352093081452269")  # a single implicit probe
    assert "probe_id" not in got
    assert got["temp"] == -18.2  # round half to even of -182.5
    assert "lat" not in got
    assert "door_open" not in got


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    temp=st.floats(-40, 40),
    timestamp=st.integers(1_600_000_000_000, 1_900_000_000_000),
    fuel=st.none() | st.integers(0, 100).map(float),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    speed=st.floats(0, 150),
    heading=st.floats(0, 359.4),
    door=st.none() | st.booleans(),
    imei=st.sampled_from([d.device_id for d in DEVICES.of_kind("teltonika")]),
)
def test_decode_of_encode_gives_back_the_readings_fields(
    temp: float,
    timestamp: int,
    fuel: float | None,
    lat: float,
    lon: float,
    speed: float,
    heading: float,
    door: bool | None,
    imei: str,
) -> None:
    device = DEVICES.device(imei)
    assert device is not None
    reading = Reading(
        truck_id=device.truck_id,
        temp=temp,
        timestamp=timestamp / 1000,
        fuel=fuel,
        lat=lat,
        lon=lon,
        speed_kmh=speed,
        heading_deg=heading,
        door_open=door,
    )
    got = _round_trip(reading, imei)
    assert len(got) == len(device.probes)
    first = got[0]
    assert abs(float(first["temp"]) - temp) <= 0.05 + 1e-9  # Dallas: 0.1 °C steps
    for one in got:
        assert one["truck_id"] == device.truck_id
        assert one["timestamp"] == timestamp / 1000
        assert abs(float(one["lat"]) - lat) <= 1e-7
        assert abs(float(one["lon"]) - lon) <= 1e-7
        assert one["speed_kmh"] == round(speed)
        assert one["heading_deg"] == round(heading)
        assert one.get("door_open") == door
        assert one.get("fuel") == fuel


class _Gateway(socketserver.ThreadingTCPServer):
    """A TCP peer that answers like the Teltonika gateway, but accepts no record of the first
    packet it gets (as when Kafka did not acknowledge it): the tracker must send it again."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.packets: list[bytes] = []
        self.connections = 0


class _Answer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _Gateway)
        server.connections += 1
        sock = self.request
        decode_imei(_read(sock, 17))
        sock.sendall(IMEI_ACCEPT)
        while True:
            head = _read(sock, 8)
            if not head:
                return
            packet = head + _read(sock, bytes_needed(head) - 8)
            server.packets.append(packet)
            records = len(decode_packet(packet).records)
            sock.sendall(reply(0 if len(server.packets) == 1 else records))


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def test_a_packet_not_acknowledged_is_sent_again_on_a_new_connection() -> None:
    truck = "KBX 123A"
    device = DEVICES.for_truck(truck)
    assert device is not None
    with _Gateway() as gateway:
        threading.Thread(target=gateway.serve_forever, daemon=True).start()
        try:
            trackers = TeltonikaDevices(
                {truck: device},
                {device.device_id: device_plan(device, MODELS)},
                gateway.server_address[:2],
            )
            trackers.connect()
            for second in range(3):
                trackers.send(Reading(truck_id=truck, temp=4.0, timestamp=1_764_000_000 + second))
            summary = trackers.close(threading.Event())
        finally:
            gateway.shutdown()
    assert gateway.packets[0] == gateway.packets[1]  # the same bytes again
    assert gateway.connections == 2  # after a short reply the tracker reconnects
    assert "sent 3 readings as 1 Teltonika trackers in 1 packets" in summary
    assert "3 acknowledged, 1 packets re-sent" in summary
