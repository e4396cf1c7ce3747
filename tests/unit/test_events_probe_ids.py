"""Event ids of readings sent without one: per probe, and unchanged for single-probe readings."""

from __future__ import annotations

import uuid

from logistream.events import EVENT_ID_NAMESPACE, decode_reading, derive_event_id


def test_a_single_probe_reading_keeps_the_id_it_always_had() -> None:
    # The formula before probes existed, so archives and replays keep their ids.
    assert derive_event_id("KBX 123A", 1.5) == str(uuid.uuid5(EVENT_ID_NAMESPACE, "KBX 123A|1.5"))


def test_each_probe_at_one_second_gets_its_own_id_every_time() -> None:
    front = decode_reading(b'{"truck_id": "T", "temp": 3, "timestamp": 1e9, "probe_id": "front"}')
    rear = decode_reading(b'{"truck_id": "T", "temp": 9, "timestamp": 1e9, "probe_id": "rear"}')
    again = decode_reading(b'{"truck_id": "T", "temp": 3, "timestamp": 1e9, "probe_id": "front"}')
    assert front.probe_id == "front"
    assert front.event_id == again.event_id
    assert front.event_id != rear.event_id
    assert front.event_id != derive_event_id("T", 1e9)
