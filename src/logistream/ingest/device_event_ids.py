"""Event ids of readings that reach LogiStream through a device gateway.

A device re-sends what was not acknowledged (an MQTT QoS 1 message after a gateway crash, a
Teltonika packet whose reply never came), so the same reading must always get the same id: the
archive keeps an event id once. The id names the device, the probe and the device's own
timestamp as it sent it, so two probes of one truck at the same second are two readings.
"""

from __future__ import annotations

import uuid
from typing import Final

from logistream.events import EVENT_ID_NAMESPACE

_DEVICE_NAMESPACE: Final = uuid.uuid5(EVENT_ID_NAMESPACE, "device-gateway")


def device_event_id(device_id: str, probe_id: str | None, device_time: str) -> str:
    """The id of one reading: ``device_time`` is the timestamp exactly as the device sent it
    (its JSON text, or Teltonika's milliseconds as a decimal string)."""
    return str(uuid.uuid5(_DEVICE_NAMESPACE, f"{device_id}|{probe_id or ''}|{device_time}"))
