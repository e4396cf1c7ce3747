"""Teltonika IO elements to reading fields: the shipped mapping, probes, units, sensor error codes.

Records are built, encoded as a device would send them (Codec 8 / 8 Extended), decoded, then
mapped, so each test runs the whole pure path of the gateway. The mapped readings must pass the
wire contract's one validation (``events.decode_reading_with_extras``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.test_layer_imports import _imported_modules, _layer_of, _package_of

import logistream.devices
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
from logistream.devices.io_mapping import (
    BOOL_FIELDS,
    EXTRA_FIELDS,
    NUMBER_FIELDS,
    DeviceModel,
    load_io_mappings,
    parse_io_mappings,
    record_fields,
    record_readings,
)
from logistream.errors import ConfigError
from logistream.events import READING_FIELDS, decode_reading_with_extras

MODELS = load_io_mappings()
NAIROBI = GpsElement(
    longitude=36.8219, latitude=-1.2921, altitude=1700, angle=135, satellites=9, speed=57
)
NO_FIX = GpsElement(longitude=0.0, latitude=0.0, altitude=0, angle=0, satellites=0, speed=0)
T_MS = 1_780_000_000_123  # 2026-05-28


def _sent(codec_id: int, gps: GpsElement, io: list[tuple[int, int, int]]) -> AvlRecord:
    """A record with IO (id, size in bytes, raw value; negative = two's complement), sent through
    the codec and decoded again, as the gateway will see it."""
    elements = tuple(
        IoElement(io_id, value.to_bytes(size, "big", signed=value < 0))
        for io_id, size, value in sorted(io, key=lambda item: item[1])  # group order
    )
    record = AvlRecord(T_MS, 1, gps, 0, elements)
    return decode_packet(encode_packet(AvlPacket(codec_id, (record,)))).records[0]


def _contract_ok(reading: dict[str, object]) -> None:
    decoded, extras = decode_reading_with_extras(json.dumps(reading).encode())
    assert decoded.temp == reading["temp"]
    assert decoded.truck_id == reading["truck_id"]
    # What the contract does not name yet is kept by the archive as extras.
    assert set(extras or {}) <= {"probe_id", *EXTRA_FIELDS}


def test_the_shipped_mapping_loads_with_its_models() -> None:
    assert set(MODELS) == {"FMB120", "FMB130", "FMB140", "FMC130", "FMC130-EYE"}
    fmb130 = MODELS["FMB130"]
    assert [(p.probe_id, p.io.io_id, p.io.scale, p.io.signed) for p in fmb130.probes] == [
        ("front", 72, 0.1, True),
        ("rear", 73, 0.1, True),
    ]
    assert fmb130.io_specs[72].name == "Dallas Temperature 1"
    assert fmb130.io_specs[25].name == "BLE Temperature #1"
    assert fmb130.io_specs[25].scale == 0.01
    assert {f.field: f.io.io_id for f in fmb130.fields} == {
        "door_open": 1,
        "fuel": 89,
        "ignition": 239,
        "external_voltage_v": 66,
    }


def test_every_field_a_device_fills_is_a_contract_field_or_a_declared_extra() -> None:
    assert (BOOL_FIELDS | NUMBER_FIELDS) - EXTRA_FIELDS <= READING_FIELDS
    assert not EXTRA_FIELDS & READING_FIELDS
    for model in MODELS.values():
        assert {f.field for f in model.fields} <= BOOL_FIELDS | NUMBER_FIELDS


def test_two_dallas_probes_give_two_readings_naming_their_probe() -> None:
    record = _sent(
        CODEC_8,
        NAIROBI,
        [(72, 4, -125), (73, 4, 45), (1, 1, 1), (89, 1, 63), (239, 1, 1), (66, 2, 12_345)],
    )
    readings = record_readings(record, MODELS["FMB130"], "KBX 123A")
    shared = {
        "truck_id": "KBX 123A",
        "timestamp": 1_780_000_000.123,
        "lat": -1.2921,
        "lon": 36.8219,
        "speed_kmh": 57.0,
        "heading_deg": 135.0,
        "door_open": True,
        "fuel": 63.0,
        "ignition": True,
        "external_voltage_v": 12.345,
    }
    assert readings == [
        {**shared, "temp": -12.5, "probe_id": "front"},
        {**shared, "temp": 4.5, "probe_id": "rear"},
    ]
    for reading in readings:
        _contract_ok(reading)


def test_sensor_error_codes_are_no_value_never_a_temperature() -> None:
    # Dallas 850: sensor not ready (it would read as 85.0 °C); 3000: not connected.
    record = _sent(CODEC_8, NAIROBI, [(72, 4, 850), (73, 4, -183)])
    readings = record_readings(record, MODELS["FMB130"], "KBX 123A")
    assert [(r["probe_id"], r["temp"]) for r in readings] == [("rear", -18.3)]
    record = _sent(CODEC_8, NAIROBI, [(72, 4, 3000), (73, 4, 2000)])
    assert record_readings(record, MODELS["FMB130"], "KBX 123A") == []
    # A probe the record does not carry gives no reading either.
    assert record_readings(_sent(CODEC_8, NAIROBI, [(1, 1, 0)]), MODELS["FMB130"], "T") == []


def test_bluetooth_probes_humidity_and_an_inverted_door_contact() -> None:
    record = _sent(
        CODEC_8_EXTENDED,
        NAIROBI,
        [(25, 2, 2345), (26, 2, -1850), (86, 2, 553), (2, 1, 0), (3, 1, 1), (48, 1, 80)],
    )
    readings = record_readings(record, MODELS["FMC130-EYE"], "KCA 452B")
    assert [(r["probe_id"], r["temp"]) for r in readings] == [
        ("product", 23.45),
        ("return_air", -18.5),
    ]
    first = readings[0]
    assert first["humidity"] == 55.3
    assert first["door_open"] is True  # normally-closed contact: 0 is open
    assert first["reefer_on"] is True
    assert first["fuel"] == 80.0
    assert "ignition" not in first  # not in the record: absent, not guessed
    for reading in readings:
        _contract_ok(reading)
    closed = _sent(CODEC_8_EXTENDED, NAIROBI, [(25, 2, 500), (2, 1, 1)])
    assert record_fields(closed, MODELS["FMC130-EYE"])["door_open"] is False


def test_a_single_probe_carries_no_probe_id_and_no_fix_gives_no_position() -> None:
    record = _sent(CODEC_8, NO_FIX, [(72, 4, 52), (1, 1, 0)])
    (reading,) = record_readings(record, MODELS["FMB120"], "KCB 781C")
    assert reading == {
        "truck_id": "KCB 781C",
        "temp": 5.2,
        "timestamp": 1_780_000_000.123,
        "door_open": False,
    }
    _contract_ok(reading)


def test_a_device_registry_probe_list_replaces_the_models_probes() -> None:
    model = MODELS["FMC130"]
    probes = [model.probe("front", 72), model.probe("rear", 73), model.probe("spare", None)]
    assert [p.io.io_id for p in probes] == [72, 73, 72]  # None: the model's default input
    record = _sent(CODEC_8, NAIROBI, [(72, 4, 31), (73, 4, 38)])
    readings = record_readings(record, model, "KBX 123A", probes[:2])
    assert [(r["probe_id"], r["temp"]) for r in readings] == [("front", 3.1), ("rear", 3.8)]
    (single,) = record_readings(record, model, "KBX 123A", [model.probe(None, 73)])
    assert "probe_id" not in single
    assert single["temp"] == 3.8
    with pytest.raises(ConfigError, match=r"\[io\.9999\]"):
        model.probe("front", 9999)


def test_a_fleets_own_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "io.toml"
    path.write_text(
        "[io.75]\nname = 'Dallas Temperature 4'\nsigned = true\nscale = 0.1\n"
        "[io.9]\nname = 'Analog Input 1'\n"
        "[models.custom]\nprobes = { box = 75 }\nfields = { door_open = 9 }\n",
        encoding="utf-8",
    )
    model = load_io_mappings(path)["custom"]
    record = _sent(CODEC_8, NO_FIX, [(75, 4, -200), (9, 2, 11_900)])
    assert record_readings(record, model, "T1") == [
        {"truck_id": "T1", "temp": -20.0, "timestamp": 1_780_000_000.123, "door_open": True}
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[models.x\n", "not valid TOML"),
        ("[io.72]\nname='t'\n", "no [models.NAME]"),
        ("[models.x]\nprobes = { a = 72 }\n", "add an [io.72] table"),
        ("[io.72]\n[models.x]\nprobes = {}\n", "at least one temperature probe"),
        ("[io.72]\n[models.x]\nprobes = { a = 72 }\nfields = { colour = 72 }\n", "colour"),
        (
            "[io.72]\n[models.x]\nprobes = { a = 72 }\n"
            "fields = { fuel = { io = 72, invert = true } }\n",
            "invert",
        ),
        ("[io.door]\n[models.x]\nprobes = { a = 72 }\n", "IO id as a number"),
        ("[io.72]\nscale = 0\n[models.x]\nprobes = { a = 72 }\n", "non-zero"),
        ("[io.72]\nunit = 'C'\n[models.x]\nprobes = { a = 72 }\n", "unknown keys"),
        ("[io.72]\n[models.x]\nprobes = { a = 70000 }\n", "0..65535"),
    ],
)
def test_a_wrong_mapping_file_names_the_file_and_the_problem(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_io_mappings(text, "my_io.toml")
    assert str(caught.value).startswith("my_io.toml")
    assert says in str(caught.value)


def test_a_missing_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_io_mappings(tmp_path / "absent.toml")


def test_the_devices_package_imports_no_layer() -> None:
    """Layer-free: the ingest gateway and the simulator both import it."""
    root = Path(logistream.devices.__file__).parent
    imported = [
        module
        for path in sorted(root.rglob("*.py"))
        for _line, module in _imported_modules(path, _package_of(path))
    ]
    assert "logistream.devices.codec8" in imported
    assert [module for module in imported if _layer_of(module)] == []


def test_record_fields_alone_for_a_model() -> None:
    model: DeviceModel = MODELS["FMB130"]
    record = _sent(CODEC_8, NAIROBI, [(66, 2, 65_535), (239, 1, 0)])
    assert record_fields(record, model) == {
        "timestamp": 1_780_000_000.123,
        "lat": -1.2921,
        "lon": 36.8219,
        "speed_kmh": 57.0,
        "heading_deg": 135.0,
        "ignition": False,
        "external_voltage_v": 65.535,
    }
