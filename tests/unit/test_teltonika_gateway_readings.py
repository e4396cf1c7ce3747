"""The Teltonika gateway's pure part: a decoded packet of a registered device -> Kafka messages.

Packets are encoded as a device sends them (``codec8_encode``) and decoded again, then mapped with
the shipped registry and IO mapping, as the gateway does.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from logistream.devices.codec8 import (
    CODEC_8,
    CODEC_8_EXTENDED,
    AvlPacket,
    AvlRecord,
    GpsElement,
    IoElement,
    decode_packet,
)
from logistream.devices.codec8_encode import encode_packet
from logistream.devices.io_mapping import load_io_mappings
from logistream.errors import ConfigError
from logistream.events import decode_reading_with_extras
from logistream.ingest.device_event_ids import device_event_id
from logistream.ingest.registered_fields import (
    CALIBRATION_CERTIFICATE_FIELD,
    CALIBRATION_OFFSET_FIELD,
)
from logistream.ingest.teltonika_readings import (
    device_plan,
    device_plans,
    messages,
    readings,
)
from logistream.registry.devices import Device, Probe
from logistream.registry.loader import load_registry

MODELS = load_io_mappings()
PLANS = device_plans(load_registry().devices, MODELS)
TWO_PROBES = "352093081452251"  # KBX 123A, FMC130: front (IO 72, -0.2) and rear (IO 73, +0.1)
ONE_PROBE = "864559061234506"  # KCD 219D, FMB140: its single probe (IO 72, +0.2)
NO_PROBE_LIST = "352093081452269"  # KCE 564E, FMC130 without probes in devices.toml
NAIROBI = GpsElement(36.8219, -1.2921, 1700, 135, 9, 57)
T_MS = 1_780_000_000_123


def _packet(codec_id: int, records: list[tuple[int, dict[int, int]]]) -> AvlPacket:
    """Records of (timestamp ms, {Dallas IO id: raw 0.1 °C}), encoded and decoded again."""
    built = tuple(
        AvlRecord(
            ts,
            0,
            NAIROBI,
            0,
            (
                IoElement(1, b"\x00"),  # door closed
                *(IoElement(io, raw.to_bytes(4, "big", signed=True)) for io, raw in io.items()),
            ),
        )
        for ts, io in records
    )
    return decode_packet(encode_packet(AvlPacket(codec_id, built)))


def test_only_teltonika_devices_have_plans() -> None:
    assert set(PLANS) == {d.device_id for d in load_registry().devices.all if d.kind == "teltonika"}
    assert PLANS[TWO_PROBES].truck_id == "KBX 123A"


@pytest.mark.parametrize("codec_id", [CODEC_8, CODEC_8_EXTENDED])
def test_two_probes_give_two_readings_named_with_raw_temps(codec_id: int) -> None:
    packet = _packet(codec_id, [(T_MS, {72: 45, 73: -12}), (T_MS + 30_000, {72: 47, 73: -10})])
    out = readings(PLANS[TWO_PROBES], packet)
    assert [(r["probe_id"], r["temp"], r["timestamp"]) for r in out] == [
        ("front", 4.5, T_MS / 1000),
        ("rear", -1.2, T_MS / 1000),
        ("front", 4.7, (T_MS + 30_000) / 1000),
        ("rear", -1.0, (T_MS + 30_000) / 1000),
    ]
    # Raw temperatures; the offset and certificate ride along, never applied.
    assert [(r[CALIBRATION_OFFSET_FIELD], r[CALIBRATION_CERTIFICATE_FIELD]) for r in out[:2]] == [
        (-0.2, "CAL-2026-0141"),
        (0.1, "CAL-2026-0142"),
    ]
    assert all(r["truck_id"] == "KBX 123A" and r["door_open"] is False for r in out)
    assert out[0]["event_id"] == device_event_id(TWO_PROBES, "front", str(T_MS))
    assert out[1]["event_id"] == device_event_id(TWO_PROBES, "rear", str(T_MS))
    assert len({r["event_id"] for r in out}) == 4


def test_the_same_packet_sent_again_gives_the_same_messages() -> None:
    packet = _packet(CODEC_8, [(T_MS, {72: 45, 73: -12})])
    again = decode_packet(encode_packet(packet))
    assert messages(PLANS[TWO_PROBES], packet) == messages(PLANS[TWO_PROBES], again)


def test_single_probe_reading_has_no_probe_id_and_keeps_its_calibration() -> None:
    out = messages(PLANS[ONE_PROBE], _packet(CODEC_8_EXTENDED, [(T_MS, {72: -183})]))
    assert len(out) == 1
    assert out[0].key == "KCD 219D"
    body = json.loads(out[0].value)
    assert "probe_id" not in body
    assert body["temp"] == -18.3
    assert body[CALIBRATION_OFFSET_FIELD] == 0.2
    assert body["event_id"] == out[0].event_id == device_event_id(ONE_PROBE, None, str(T_MS))


def test_device_without_probe_list_uses_its_model_and_carries_a_zero_offset() -> None:
    body = json.loads(messages(PLANS[NO_PROBE_LIST], _packet(CODEC_8, [(T_MS, {72: 30})]))[0].value)
    assert body[CALIBRATION_OFFSET_FIELD] == 0.0
    assert CALIBRATION_CERTIFICATE_FIELD not in body
    assert "probe_id" not in body


def test_messages_pass_the_contract_with_the_calibration_kept_as_extras() -> None:
    for message in messages(PLANS[TWO_PROBES], _packet(CODEC_8, [(T_MS, {72: 45, 73: -12})])):
        reading, extras = decode_reading_with_extras(message.value)
        assert reading.event_id == message.event_id
        assert extras is not None
        assert CALIBRATION_OFFSET_FIELD in extras
        assert reading.probe_id in {"front", "rear"}


def test_records_are_produced_in_event_time_order() -> None:
    packet = _packet(CODEC_8, [(T_MS + 1000, {72: 45}), (T_MS, {72: 44})])
    assert [r["temp"] for r in readings(PLANS[NO_PROBE_LIST], packet)] == [4.4, 4.5]


def test_a_probe_without_a_value_gives_no_reading() -> None:
    # 850: Dallas "sensor not ready"; the rear probe still reports.
    out = readings(PLANS[TWO_PROBES], _packet(CODEC_8, [(T_MS, {72: 850, 73: -12})]))
    assert [(r["probe_id"], r["temp"]) for r in out] == [("rear", -1.2)]


def test_speed_beyond_the_contract_is_forwarded_as_sent() -> None:
    fast = GpsElement(36.8, -1.3, 1700, 10, 9, 300)
    record = AvlRecord(T_MS, 0, fast, 0, (IoElement(72, (45).to_bytes(4, "big")),))
    body = msgspec.json.decode(
        messages(PLANS[NO_PROBE_LIST], AvlPacket(CODEC_8, (record,)))[0].value
    )
    assert body["speed_kmh"] == 300.0  # the bridge files it in the DLQ with its reason


def test_unknown_model_or_undescribed_io_is_refused_naming_the_device() -> None:
    with pytest.raises(ConfigError, match=r"device 123456789012345 .*model 'FMX999'"):
        device_plan(Device("123456789012345", "teltonika", "FMX999", "KBX 123A"), MODELS)
    probes = (Probe("a", io_id=72), Probe("b", io_id=4242))
    with pytest.raises(ConfigError, match=r"device 123456789012345: .*IO 4242"):
        device_plan(Device("123456789012345", "teltonika", "FMC130", "KBX 123A", probes), MODELS)


def test_the_registry_fills_in_the_cargo_and_driver_a_tracker_cannot_know() -> None:
    # KBX 123A carries vaccines (fleet.toml): without the cargo its readings would be judged by
    # the default profile's limits.
    registry = load_registry()
    plans = device_plans(registry.devices, MODELS, registry)
    out = readings(plans[TWO_PROBES], _packet(CODEC_8, [(T_MS, {72: 45, 73: 50})]))
    assert {(r["cargo"], r["driver_id"]) for r in out} == {("vaccines", "DRV-001")}
    assert "cargo" not in readings(PLANS[TWO_PROBES], _packet(CODEC_8, [(T_MS, {72: 45})]))[0]
