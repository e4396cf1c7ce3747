"""Event ids of readings that reach LogiStream through a device gateway.

A device re-sends what was not acknowledged (an MQTT QoS 1 message after a gateway crash, a
Teltonika packet whose reply never came), so the same reading must always get the same id: the
archive keeps an event id once. The id names the device, the probe and the device's own
timestamp as it sent it, so two probes of one truck at the same second are two readings.

The id is ``uuid.uuid5(namespace, name)`` computed without the ``uuid.UUID`` object: the SHA-1
of the namespace is taken once and copied per id, and the version and variant bits are set on
the digest directly (the gateways make one id per reading; ids already archived never change,
which a unit test checks against ``uuid.uuid5``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

from logistream.events import EVENT_ID_NAMESPACE

_DEVICE_NAMESPACE: Final = uuid.uuid5(EVENT_ID_NAMESPACE, "device-gateway")
_NAMESPACE_SHA1: Final = hashlib.sha1(_DEVICE_NAMESPACE.bytes, usedforsecurity=False)


def uuid5_text(namespace_sha1: hashlib._Hash, name: str) -> str:
    """``str(uuid.uuid5(ns, name))`` where ``namespace_sha1`` is ``sha1(ns.bytes)``."""
    sha = namespace_sha1.copy()
    sha.update(name.encode())
    digest = sha.digest()
    # RFC 4122: version 5 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
    h = (
        digest[:6]
        + bytes(((digest[6] & 0x0F) | 0x50, digest[7], (digest[8] & 0x3F) | 0x80))
        + digest[9:16]
    ).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def device_event_id(device_id: str, probe_id: str | None, device_time: str) -> str:
    """The id of one reading: ``device_time`` is the timestamp exactly as the device sent it
    (its JSON text, or Teltonika's milliseconds as a decimal string)."""
    return uuid5_text(_NAMESPACE_SHA1, f"{device_id}|{probe_id or ''}|{device_time}")
