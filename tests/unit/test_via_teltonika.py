"""A simulated reading as a Teltonika AVL record: Codec 8E bytes that the gateway's decoder and
IO mapping turn back into the reading's fields (to the probe's resolution). Pure, no sockets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from logistream.devices.codec8 import decode_packet
from logistream.devices.io_mapping import load_io_mappings
from logistream.events import Reading
from logistream.ingest.teltonika_readings import device_plan, readings
from logistream.ingest.via_devices import POSITION_OFFSET_C, position_of
from logistream.ingest.via_teltonika import avl_record, packet_bytes
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
