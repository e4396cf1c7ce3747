"""What the MQTT gateway makes of one message: a record for ``truck_telemetry``, or a refusal.

A device publishes LogiStream's reading JSON (the wire contract) to
``logistream/devices/<device id>/telemetry``; the broker's ACL lets it publish only there, so the
topic says which device sent it, and the device registry which truck and probes it has. Here:
- the truck comes from the registry: a payload may leave ``truck_id`` out, and one naming
  another truck is refused (a device never speaks for another truck); the truck's registered
  cargo and driver fill in what the device leaves out (:mod:`.registered_fields`);
- ``probe_id`` must name one of the truck's probes when it has several (a single probe may be
  left out); the probe's calibration offset travels as ``calibration_offset_c`` (with its
  ``calibration_certificate``, as from the Teltonika gateway), never applied to ``temp``:
  the archive keeps the raw value and the offset, so an audit can recompute either;
- a reading without ``event_id`` gets one from the device, the probe and the device's own
  timestamp text, so a re-delivered message keeps its id and is archived once.
Everything else about the reading (a missing temperature, a value out of range, a payload that
is not JSON at all) is the contract's business: the message goes on to ``truck_telemetry`` as
sent and the bridge, the one writer of the dead-letter topic, refuses it there with its reason
code. Pure: no broker, no Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from logistream.ingest.device_event_ids import device_event_id
from logistream.ingest.registered_fields import (
    CALIBRATION_CERTIFICATE_FIELD,
    CALIBRATION_OFFSET_FIELD,
)
from logistream.registry.devices import Device, Devices, Probe

TOPIC_PREFIX: Final = "logistream/devices/"
TOPIC_SUFFIX: Final = "/telemetry"

RefusalReason = Literal["bad_topic", "unknown_device", "wrong_truck", "unknown_probe"]

_object: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_text: Final = msgspec.json.Decoder(str)
_encode: Final = msgspec.json.Encoder().encode


class Forward(msgspec.Struct, frozen=True):
    """A record to produce to ``truck_telemetry`` (a Struct: one is made per message, and a
    frozen dataclass takes several times as long to make)."""

    device_id: str
    key: bytes
    """The truck id: all of a truck's readings go to one partition, in order."""
    value: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """A message no truck's record may hold; counted and logged, never produced."""

    device_id: str
    reason: RefusalReason
    detail: str
    """What is wrong and what to change, for the person who set up the device."""


def device_of_topic(topic: str) -> str | None:
    """The device id a telemetry topic names, or None for any other topic."""
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        return None
    device_id = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)]
    return device_id if device_id and "/" not in device_id else None


def _string(raw: msgspec.Raw | None) -> str | None:
    """A JSON string field's value; None when absent, and also when not a string (then the
    contract refuses the message downstream, with its own reason)."""
    if raw is None:
        return None
    try:
        return _text.decode(raw)
    except msgspec.DecodeError:
        return None


def _probe(device: Device, probe_id: str | None) -> Probe | str:
    """The probe a reading names, or what is wrong with its ``probe_id``. A device with one
    probe may leave it out; with several, each reading must name its own."""
    if probe_id is None:
        if len(device.probes) == 1:
            return device.probes[0]
        named = ", ".join(str(p.probe_id) for p in device.probes)
        return f"send probe_id, one of {named}: truck {device.truck_id} has several probes"
    probe = device.probe(probe_id)
    if probe is not None:
        return probe
    named = ", ".join(str(p.probe_id) for p in device.probes if p.probe_id is not None)
    if not named:
        return f"leave probe_id out: truck {device.truck_id} has a single probe"
    return f"probe_id {probe_id!r} is not one of {named} (devices.toml)"


@dataclass(frozen=True, slots=True)
class _DevicePlan:
    """What every record of one registered MQTT device shares, encoded once."""

    device: Device
    key: bytes
    truck: msgspec.Raw
    registered: tuple[tuple[str, msgspec.Raw], ...]
    probes: dict[str | None, tuple[tuple[str, msgspec.Raw], ...]]
    """By ``probe_id`` as sent: the probe's calibration fields (only probes the registry has)."""


class RecordMaker:
    """:func:`to_record` for one gateway: what a device's records share (its truck, the
    registered cargo and driver, each probe's calibration fields) is looked up and encoded on
    the device's first message and kept, since the registry does not change while it runs.
    Only what the registry allows is kept: a refusal is worked out again each time."""

    def __init__(
        self, devices: Devices, registered: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self._devices = devices
        self._registered = registered or {}
        self._plans: dict[str, _DevicePlan] = {}
        """By topic: only the topics of registered MQTT devices are kept."""

    def _plan(self, device_id: str) -> _DevicePlan | None:
        device = self._devices.by_id.get(device_id)
        if device is None or device.kind != "mqtt":
            return None
        return _DevicePlan(
            device,
            device.truck_id.encode(),
            msgspec.Raw(_encode(device.truck_id)),
            tuple(
                (name, msgspec.Raw(_encode(value)))
                for name, value in self._registered.get(device.truck_id, {}).items()
            ),
            {},
        )

    @staticmethod
    def _probe_fields(
        plan: _DevicePlan, probe_id: str | None
    ) -> tuple[tuple[str, msgspec.Raw], ...] | str:
        """The calibration fields of the probe a reading names, or what is wrong with it."""
        cached = plan.probes.get(probe_id)
        if cached is not None:
            return cached
        probe = _probe(plan.device, probe_id)
        if isinstance(probe, str):
            return probe
        extra: list[tuple[str, msgspec.Raw]] = []
        if probe.offset_c:
            extra.append((CALIBRATION_OFFSET_FIELD, msgspec.Raw(_encode(probe.offset_c))))
        if probe.calibration is not None:
            certificate = msgspec.Raw(_encode(probe.calibration.certificate))
            extra.append((CALIBRATION_CERTIFICATE_FIELD, certificate))
        fields = tuple(extra)
        plan.probes[probe_id] = fields
        return fields

    def to_record(self, topic: str, payload: bytes) -> Forward | Refused:
        """The record for one MQTT message, or why it is refused (see :func:`to_record`)."""
        plan = self._plans.get(topic)
        if plan is None:
            found = device_of_topic(topic)
            if found is None:
                return Refused(
                    "?", "bad_topic", f"topic {topic!r} is not {TOPIC_PREFIX}<id>{TOPIC_SUFFIX}"
                )
            plan = self._plan(found)
            if plan is None:
                return Refused(
                    found,
                    "unknown_device",
                    f"device {found!r} is not an MQTT device of devices.toml",
                )
            self._plans[topic] = plan
        device = plan.device
        device_id = device.device_id
        try:
            fields = _object.decode(payload)
        except msgspec.DecodeError:
            # Not a JSON object: the bridge refuses it with the contract's reason code.
            return Forward(device_id, plan.key, payload)
        if "truck_id" in fields:
            named_truck = _string(fields["truck_id"])
            if named_truck != device.truck_id:
                return Refused(
                    device_id,
                    "wrong_truck",
                    f"truck_id {named_truck!r} is not {device.truck_id!r}, the truck of device "
                    f"{device_id} in devices.toml: leave truck_id out or send the device's own",
                )
        raw_probe = fields.get("probe_id")
        probe_id = None if raw_probe is None else _string(raw_probe)
        probe_fields = self._probe_fields(plan, probe_id)
        if isinstance(probe_fields, str):
            return Refused(device_id, "unknown_probe", probe_fields)
        fields["truck_id"] = plan.truck
        for name, value in plan.registered:
            if name not in fields:
                fields[name] = value
        for name, value in probe_fields:
            fields[name] = value
        timestamp = fields.get("timestamp")
        if timestamp is not None and "event_id" not in fields:
            event_id = device_event_id(device_id, probe_id, bytes(timestamp).decode())
            fields["event_id"] = msgspec.Raw(_encode(event_id))
        return Forward(device_id, plan.key, _encode(fields))


def to_record(
    topic: str,
    payload: bytes,
    devices: Devices,
    registered: Mapping[str, Mapping[str, str]] | None = None,
) -> Forward | Refused:
    """The record for one MQTT message, or why it is refused. ``registered``: by truck, the
    fields the fleet registry fills in when the device leaves them out (cargo, driver). A
    gateway keeps one :class:`RecordMaker` instead, which remembers each device's part."""
    return RecordMaker(devices, registered).to_record(topic, payload)
