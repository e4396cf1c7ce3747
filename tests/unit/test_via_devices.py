"""Which simulated truck speaks as which device (``simulate --via``), and its probes' values."""

from __future__ import annotations

from logistream.ingest.via_devices import (
    POSITION_OFFSET_C,
    assign,
    describe,
    position_of,
    probe_temperatures,
)
from logistream.registry import load_registry

DEVICES = load_registry().devices


def test_trucks_speak_as_their_device_of_the_kind_and_the_rest_go_straight_to_kafka() -> None:
    trucks = ["KBX 123A", "KCA 452B", "KCB 781C", "KZZ 999Z"]  # the last: a generated truck
    mqtt = assign(trucks, DEVICES, "mqtt")
    assert {t: d.device_id for t, d in mqtt.devices.items()} == {
        "KCA 452B": "tu-kca452b",
        "KCB 781C": "tu-kcb781c",
    }
    assert mqtt.to_kafka == ("KBX 123A", "KZZ 999Z")
    teltonika = assign(trucks, DEVICES, "teltonika")
    assert {t: d.device_id for t, d in teltonika.devices.items()} == {"KBX 123A": "352093081452251"}
    assert teltonika.to_kafka == ("KCA 452B", "KCB 781C", "KZZ 999Z")
    line = describe(mqtt, "mqtt")
    assert line == (
        "via mqtt: 2 trucks as their mqtt devices; 2 without a mqtt device straight to Kafka "
        "(KBX 123A, KZZ 999Z)"
    )
    assert describe(assign(["KCA 452B"], DEVICES, "mqtt"), "mqtt") == (
        "via mqtt: 1 truck as their mqtt devices"
    )


def test_first_probe_reads_the_simulated_value_and_further_ones_their_position_offset() -> None:
    assert probe_temperatures(["front"], 4.37) == [4.37]
    assert probe_temperatures(["product", "return_air"], 4.37) == [
        4.37,
        round(4.37 + POSITION_OFFSET_C["return_air"], 2),
    ]
    two = DEVICES.device("tu-kcb781c")
    assert two is not None
    assert [position_of(two, p.probe_id) for p in two.probes] == ["front", "rear"]
    single = DEVICES.device("tu-kcf337f")
    assert single is not None
    assert position_of(single, None) == "product"
