"""Event ids of readings that reach LogiStream through a device gateway.

A device re-sends what was not acknowledged (an MQTT QoS 1 message after a gateway crash, a
Teltonika packet whose reply never came), so the same reading must always get the same id: the
archive keeps an event id once. The id names the device, the probe and the device's own
timestamp as it sent it, so two probes of one truck at the same second are two readings.

The id is ``uuid.uuid5(namespace, name)`` computed without the ``uuid.UUID`` object: the SHA-1
of the namespace is taken once and copied per id, and the version and variant bits are set on
the digest's integer directly (the gateways make one id per reading; ids already archived
never change, which a unit test checks against ``uuid.uuid5``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

from logistream.events import EVENT_ID_NAMESPACE

_DEVICE_NAMESPACE: Final = uuid.uuid5(EVENT_ID_NAMESPACE, "device-gateway")
_NAMESPACE_SHA1: Final = hashlib.sha1(_DEVICE_NAMESPACE.bytes, usedforsecurity=False)
# RFC 4122 on the first 128 bits of the SHA-1: version 5 in bits 76-79, variant 0b10 in 62-63.
_KEEP: Final = ((1 << 128) - 1) ^ ((0xF << 76) | (0x3 << 62))
_SET: Final = (0x5 << 76) | (0x2 << 62)


def uuid5_text(namespace_sha1: hashlib._Hash, name: str) -> str:
    """``str(uuid.uuid5(ns, name))`` where ``namespace_sha1`` is ``sha1(ns.bytes)``."""
    sha = namespace_sha1.copy()
    sha.update(name.encode())
    h = f"{(int.from_bytes(sha.digest()[:16], 'big') & _KEEP) | _SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def device_event_id(device_id: str, probe_id: str | None, device_time: str) -> str:
    """The id of one reading: ``device_time`` is the timestamp exactly as the device sent it
    (its JSON text, or Teltonika's milliseconds as a decimal string)."""
    return uuid5_text(_NAMESPACE_SHA1, f"{device_id}|{probe_id or ''}|{device_time}")
