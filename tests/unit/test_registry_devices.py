"""The device registry: the shipped devices.toml, a user's folder, and one-line errors that name
the file, the device and the field."""

from __future__ import annotations

import shutil
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from logistream.errors import ConfigError
from logistream.registry import load_registry
from logistream.registry.devices import SINGLE_PROBE, Calibration, Probe

SHIPPED = resources.files("logistream.registry").joinpath("data")


def test_every_shipped_truck_has_one_device_of_either_kind_with_one_or_two_probes() -> None:
    registry = load_registry()
    devices = registry.devices
    assert {d.truck_id for d in devices.all} == {t.truck_id for t in registry.trucks}
    assert len(devices.all) == len(registry.trucks)
    assert {d.kind for d in devices.all} == {"mqtt", "teltonika"}
    for device in devices.all:
        assert 1 <= len(device.probes) <= 2
        assert devices.device(device.device_id) is device
        assert devices.for_truck(device.truck_id) is device
        if device.kind == "teltonika":
            assert len(device.device_id) == 15
            assert device.device_id.isdigit()
    # Both shapes are shipped: an implicit single probe and named, calibrated ones.
    assert any(d.probes == (SINGLE_PROBE,) for d in devices.all)
    two = devices.for_truck("KBX 123A")
    assert two is not None
    assert [(p.probe_id, p.position, p.io_id) for p in two.probes] == [
        ("front", "front", 72),
        ("rear", "rear", 73),
    ]
    assert two.probes[0].calibration == Calibration(
        "CAL-2026-0141", date(2026, 10, 7), date(2027, 10, 7)
    )
    assert two.probes[0].offset_c == -0.2


def _folder(tmp_path: Path, devices: str | None) -> Path:
    for name in ("cargo.toml", "routes.toml", "fleet.toml"):
        with resources.as_file(SHIPPED.joinpath(name)) as shipped:
            shutil.copy(shipped, tmp_path / name)
    if devices is not None:
        (tmp_path / "devices.toml").write_text(devices)
    return tmp_path


def test_a_registry_folder_without_devices_toml_has_no_devices(tmp_path: Path) -> None:
    registry = load_registry(_folder(tmp_path, None))
    assert registry.devices.all == ()
    assert registry.devices.for_truck("KBX 123A") is None


def test_a_device_without_probes_has_the_trucks_single_probe(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '[[device]]\nid = "unit-7"\nkind = "mqtt"\ntruck = "KCA 452B"\n')
    device = load_registry(folder).devices.device("unit-7")
    assert device is not None
    assert device.probes == (Probe(probe_id=None),)
    assert device.model == "logistream-json"
    assert device.probe(None) is device.probes[0]


GOOD_PROBE = (
    'id = "front"\nposition = "front"\nio = 72\noffset = 0.5\ncertificate = "C-1"\n'
    "calibrated = 2026-01-10\ndue = 2027-01-10\n"
)
TELTONIKA = '[[device]]\nid = "352093081452251"\nkind = "teltonika"\nmodel = "FMC130"\n'


def test_probes_and_calibration_are_read(tmp_path: Path) -> None:
    text = TELTONIKA + 'truck = "KBX 123A"\n[[device.probe]]\n' + GOOD_PROBE
    device = load_registry(_folder(tmp_path, text)).devices.device("352093081452251")
    assert device is not None
    (probe,) = device.probes
    assert probe == Probe(
        "front", "front", 72, 0.5, Calibration("C-1", date(2026, 1, 10), date(2027, 1, 10))
    )
    assert not probe.overdue(date(2027, 1, 9))
    assert probe.overdue(date(2027, 1, 10))
    assert not SINGLE_PROBE.overdue(date(2099, 1, 1))


MQTT = '[[device]]\nid = "unit-7"\nkind = "mqtt"\ntruck = "KCA 452B"\n'
PROBE = "[[device.probe]]\n"

# (devices.toml text, the one line expected after the file's path and a space)
BAD = [
    (
        '[[device]]\nid = "unit-7"\nkind = "lora"\ntruck = "KCA 452B"\n',
        "device 'unit-7': field 'kind' must be one of mqtt, teltonika (got 'lora')",
    ),
    (
        '[[device]]\nkind = "mqtt"\ntruck = "KCA 452B"\n',
        "device 1: field 'id' is missing",
    ),
    (
        '[[device]]\nid = "a/b"\nkind = "mqtt"\ntruck = "KCA 452B"\n',
        "device 'a/b': field 'id' must be 1 to 64 letters, digits, '.', '_' or '-' "
        "(it is an MQTT username and topic level; got 'a/b')",
    ),
    (
        '[[device]]\nid = "gateway"\nkind = "mqtt"\ntruck = "KCA 452B"\n',
        "device 'gateway': field 'id': 'gateway' is reserved for the stack",
    ),
    (
        '[[device]]\nid = "35209308145225"\nkind = "teltonika"\nmodel = "FMC130"\n'
        'truck = "KCA 452B"\n',
        "device '35209308145225': field 'id' of a teltonika device is its IMEI: 15 digits "
        "(got '35209308145225')",
    ),
    (
        '[[device]]\nid = "352093081452251"\nkind = "teltonika"\ntruck = "KCA 452B"\n',
        "device '352093081452251': field 'model' is missing",
    ),
    (
        '[[device]]\nid = "unit-7"\nkind = "mqtt"\ntruck = "KZZ 999Z"\n',
        "device 'unit-7': field 'truck': 'KZZ 999Z' is not in fleet.toml",
    ),
    (
        MQTT + MQTT,
        "device 'unit-7': field 'id': the id is used twice",
    ),
    (
        MQTT + MQTT.replace("unit-7", "unit-8"),
        "device 'unit-8': field 'truck': 'KCA 452B' already has device 'unit-7'; a truck has "
        "one device (list all its probes there)",
    ),
    (
        MQTT + "colour = 'red'\n",
        "device 'unit-7': unknown field 'colour'; known fields: id, kind, model, probe, truck",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "roof"\n',
        "device 'unit-7' probe 'p': field 'position' must be one of front, rear, return_air, "
        "product (got 'roof')",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\nofset = 0.2\n',
        "device 'unit-7' probe 'p': unknown field 'ofset'; known fields: calibrated, "
        "certificate, due, id, io, offset, position",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\noffset = "0.2"\n',
        "device 'unit-7' probe 'p': field 'offset' must be a number of °C (got '0.2')",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\noffset = 12.5\n',
        "device 'unit-7' probe 'p': field 'offset' must be within ±10 °C (got 12.5)",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\nio = -1\n',
        "device 'unit-7' probe 'p': field 'io' must be an IO id from 0 to 65535 (got -1)",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\ncertificate = "C-1"\n',
        "device 'unit-7' probe 'p': field 'calibrated' is missing; a calibration record needs "
        "certificate, calibrated and due (or none of them)",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\ncertificate = "C-1"\n'
        "calibrated = 2026-01-10\ndue = 2025-01-10\n",
        "device 'unit-7' probe 'p': field 'due' (2025-01-10) must be after 'calibrated' "
        "(2026-01-10)",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\ncertificate = "C-1"\n'
        'calibrated = "10/01/2026"\ndue = 2027-01-10\n',
        "device 'unit-7' probe 'p': field 'calibrated' must be a date such as 2026-03-02 "
        "(got '10/01/2026')",
    ),
    (
        MQTT + PROBE + 'id = "p"\nposition = "rear"\n' + PROBE + 'id = "p"\nposition = "front"\n',
        "device 'unit-7' probe 'p': field 'id': the id is used twice on this device",
    ),
    (
        MQTT
        + PROBE
        + 'id = "p"\nposition = "rear"\nio = 72\n'
        + PROBE
        + 'id = "q"\nposition = "front"\nio = 72\n',
        "device 'unit-7' probe 'q': field 'io': IO 72 is used twice",
    ),
    (
        MQTT + PROBE + 'position = "rear"\n',
        "device 'unit-7' probe 1: field 'id' is missing",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e[:50] for _, e in BAD])
def test_a_wrong_entry_is_refused_in_one_line_naming_file_entry_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    folder = _folder(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_registry(folder)
    message = str(refused.value)
    assert "\n" not in message
    assert message == f"{folder / 'devices.toml'} {expected}"


def test_an_unknown_table_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "[devices]\nx = 1\n")
    with pytest.raises(ConfigError) as refused:
        load_registry(folder)
    assert str(refused.value) == (
        f"{folder / 'devices.toml'}: unknown table 'devices'; devices are [[device]] entries"
    )


def test_a_device_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "[[device]\n")
    with pytest.raises(ConfigError, match=r"devices\.toml: not valid TOML"):
        load_registry(folder)
