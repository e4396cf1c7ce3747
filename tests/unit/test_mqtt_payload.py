"""The MQTT gateway's mapping of one message (pure): the device's truck, its probes, the event id
a re-delivery keeps, and the refusals that name what to fix."""

from __future__ import annotations

import json

import msgspec
import pytest
from tests.helpers import seeded_random

from logistream.events import decode_reading_with_extras
from logistream.ingest.mqtt_payload import (
    Forward,
    RecordMaker,
    Refused,
    device_of_topic,
    to_record,
)
from logistream.ingest.registered_fields import registered_fields
from logistream.registry import load_registry

DEVICES = load_registry().devices
ONE_PROBE = "tu-kch146h"  # KCH 146H, probe "product", offset +0.1
TWO_PROBES = "tu-kcb781c"  # KCB 781C, probes "front" (offset 0) and "rear" (offset -0.1)
NO_PROBES = "tu-kcf337f"  # KCF 337F, the truck's single implicit probe


def _topic(device: str) -> str:
    return f"logistream/devices/{device}/telemetry"


def _forward(device: str, payload: dict[str, object] | bytes) -> Forward:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    record = to_record(_topic(device), raw, DEVICES)
    assert isinstance(record, Forward), record
    return record


def test_topics_name_one_device_or_none() -> None:
    assert device_of_topic(_topic("tu-1")) == "tu-1"
    for other in ("logistream/devices//telemetry", "logistream/devices/a/b/telemetry", "x/y"):
        assert device_of_topic(other) is None


def test_the_registry_gives_the_truck_and_a_valid_reading_goes_on() -> None:
    record = _forward(ONE_PROBE, {"temp": 4.5, "timestamp": 1_760_000_000.5})
    assert record.key == b"KCH 146H"
    reading, extras = decode_reading_with_extras(record.value)
    assert reading.truck_id == "KCH 146H"
    assert reading.temp == 4.5  # raw: the calibration offset is not applied...
    assert extras["calibration_offset_c"] == 0.1  # ...it travels beside it
    assert extras["calibration_certificate"] == "CAL-2026-0148"


def test_the_event_id_is_the_same_for_a_redelivery_and_differs_by_probe() -> None:
    message = {"temp": 4.0, "timestamp": 1_760_000_000, "probe_id": "front"}
    first = _forward(TWO_PROBES, message)
    again = _forward(TWO_PROBES, message)
    rear = _forward(TWO_PROBES, {**message, "probe_id": "rear"})
    ids = [json.loads(r.value)["event_id"] for r in (first, again, rear)]
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    own = _forward(NO_PROBES, {"temp": 4.0, "timestamp": 1, "event_id": "device-own-id"})
    assert json.loads(own.value)["event_id"] == "device-own-id"


def test_numbers_are_passed_on_exactly_as_sent() -> None:
    record = _forward(NO_PROBES, b'{"temp": 4.10000000000000001, "timestamp": 1e9, "x": 1e400}')
    assert b'"temp":4.10000000000000001' in record.value
    assert b'"x":1e400' in record.value


@pytest.mark.parametrize(
    ("device", "payload", "reason", "words"),
    [
        (ONE_PROBE, {"truck_id": "KBX 123A", "temp": 1, "timestamp": 1}, "wrong_truck", "KCH 146H"),
        (TWO_PROBES, {"temp": 1, "timestamp": 1}, "unknown_probe", "front, rear"),
        (TWO_PROBES, {"probe_id": "middle", "temp": 1, "timestamp": 1}, "unknown_probe", "middle"),
        (NO_PROBES, {"probe_id": "front", "temp": 1, "timestamp": 1}, "unknown_probe", "single"),
        ("not-registered", {"temp": 1, "timestamp": 1}, "unknown_device", "devices.toml"),
        ("352093081452251", {"temp": 1, "timestamp": 1}, "unknown_device", "MQTT device"),
    ],
)
def test_refusals_say_what_to_fix(
    device: str, payload: dict[str, object], reason: str, words: str
) -> None:
    record = to_record(_topic(device), json.dumps(payload).encode(), DEVICES)
    assert isinstance(record, Refused)
    assert record.reason == reason
    assert words in record.detail


def test_what_breaks_the_contract_goes_on_for_the_bridge_to_refuse() -> None:
    # The bridge is the one writer of the dead-letter topic, with the contract's reason codes.
    assert _forward(NO_PROBES, b"not json at all").value == b"not json at all"
    broken = _forward(NO_PROBES, {"temp": "warm", "timestamp": 1})
    assert msgspec.json.decode(broken.value)["temp"] == "warm"


def test_the_registry_fills_in_cargo_and_driver_unless_the_device_sent_its_own() -> None:
    registry = load_registry()
    registered = {"KCH 146H": registered_fields(registry, "KCH 146H")}
    payload = json.dumps({"temp": 4.0, "timestamp": 1.76e9}).encode()
    filled = to_record(_topic(ONE_PROBE), payload, DEVICES, registered)
    assert isinstance(filled, Forward)
    truck = registry.truck_index["KCH 146H"]
    reading = decode_reading_with_extras(filled.value)[0]
    assert (reading.cargo, reading.driver_id) == (truck.cargo, truck.driver_id)
    own = json.dumps({"temp": 4.0, "timestamp": 1.76e9, "cargo": "flowers"}).encode()
    kept = to_record(_topic(ONE_PROBE), own, DEVICES, registered)
    assert isinstance(kept, Forward)
    assert decode_reading_with_extras(kept.value)[0].cargo == "flowers"
    assert registered_fields(registry, "NOT A TRUCK") == {}


def test_a_gateway_s_record_maker_gives_what_to_record_gives_message_after_message() -> None:
    # The maker remembers each device's part; a refusal is never remembered, so a device that
    # sends a wrong probe and then a right one gets its reading through.
    rng = seeded_random("record maker")
    registry = load_registry()
    registered = {d.truck_id: registered_fields(registry, d.truck_id) for d in DEVICES.all}
    maker = RecordMaker(DEVICES, registered)
    devices = [ONE_PROBE, TWO_PROBES, NO_PROBES, "not-registered"]
    probes = [None, "front", "rear", "product", "middle"]
    for i in range(400):
        device = rng.choice(devices)
        payload: dict[str, object] = {"temp": rng.uniform(-30, 30), "timestamp": 1.76e9 + i}
        if (probe := rng.choice(probes)) is not None:
            payload["probe_id"] = probe
        if rng.random() < 0.1:
            payload["truck_id"] = rng.choice(["KCB 781C", "KCH 146H"])
        raw = json.dumps(payload).encode()
        made = maker.to_record(_topic(device), raw)
        assert made == to_record(_topic(device), raw, DEVICES, registered), (device, payload)
    assert isinstance(maker.to_record(_topic(TWO_PROBES), b'{"probe_id": "x"}'), Refused)
    ok = maker.to_record(_topic(TWO_PROBES), b'{"probe_id": "rear", "timestamp": 5}')
    assert isinstance(ok, Forward)
    assert json.loads(ok.value)["calibration_offset_c"] == -0.1
