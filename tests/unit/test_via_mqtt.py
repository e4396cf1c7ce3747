"""The simulator's MQTT messages are what the MQTT gateway expects of a device: pure, no broker."""

from __future__ import annotations

import json

from logistream.events import Reading
from logistream.ingest.mqtt_payload import Forward, to_record
from logistream.ingest.via_devices import POSITION_OFFSET_C
from logistream.ingest.via_mqtt import payloads
from logistream.registry import load_registry
from logistream.stack.mqtt_accounts import telemetry_topic

DEVICES = load_registry().devices

READING = Reading(
    truck_id="KCB 781C",
    temp=3.41,
    timestamp=1_764_000_000.5,
    fuel=61.2,
    event_id="sim-abc",
    seq=7,
    trip_id="T-1",
    lat=-1.29,
    lon=36.82,
    door_open=False,
)


def test_one_message_per_named_probe_without_truck_or_event_id() -> None:
    device = DEVICES.device("tu-kcb781c")  # probes front and rear
    assert device is not None
    sent = [json.loads(p) for p in payloads(READING, device)]
    assert [m.get("probe_id") for m in sent] == ["front", "rear"]
    assert [m["temp"] for m in sent] == [3.41, round(3.41 + POSITION_OFFSET_C["rear"], 2)]
    for message in sent:
        assert "truck_id" not in message
        assert "event_id" not in message
        assert message["timestamp"] == READING.timestamp
        assert (message["fuel"], message["seq"], message["trip_id"]) == (61.2, 7, "T-1")
        assert message["door_open"] is False


def test_a_single_implicit_probe_sends_no_probe_id() -> None:
    device = DEVICES.device("tu-kcf337f")
    assert device is not None
    (message,) = payloads(READING, device)
    assert "probe_id" not in json.loads(message)


def test_the_gateway_turns_them_into_the_trucks_readings_with_distinct_event_ids() -> None:
    device = DEVICES.device("tu-kcb781c")
    assert device is not None
    records = [
        to_record(telemetry_topic(device.device_id), payload, DEVICES)
        for payload in payloads(READING, device)
    ]
    assert all(isinstance(r, Forward) for r in records)
    readings = [json.loads(r.value) for r in records if isinstance(r, Forward)]
    assert {r.key for r in records if isinstance(r, Forward)} == {b"KCB 781C"}
    assert [(r["truck_id"], r["probe_id"]) for r in readings] == [
        ("KCB 781C", "front"),
        ("KCB 781C", "rear"),
    ]
    assert len({r["event_id"] for r in readings}) == 2
