"""What the Teltonika gateway produces for one decoded AVL packet: Kafka messages, keyed by truck.

Each registered Teltonika device gets a :class:`DevicePlan` once, at start: its truck, its model's
IO mapping (``devices.io_mapping``) and its probes with their calibration records. A packet's
records then become wire-contract readings (one per probe that reported a valid temperature),
each with:

- ``truck_id``: the device's truck; the message key too, so per-truck order holds;
- ``probe_id`` only when the truck has several probes (absent = the truck's single probe);
- ``event_id`` = ``device_event_id(IMEI, probe_id, record timestamp in ms)``: a packet the device
  sends again (its reply never came) gives the same ids, so the archive keeps each reading once;
- ``temp``: the raw value the probe sent. No calibration is applied here: the probe's offset from
  the device registry travels beside it as ``calibration_offset_c`` (true = raw + offset), with
  ``calibration_certificate`` when the probe has a calibration record, so an audit can recompute
  either the raw or the corrected value from the archive (which keeps unknown fields as extras).

Nothing is validated here against the contract's bounds: the gateway forwards what the device
said and the bridge, the one writer of the DLQ, files a reading that breaks the contract there
with its reason code (see ``teltonika_gateway``). Pure: no sockets, no Kafka, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from logistream.devices.codec8 import AvlPacket
from logistream.devices.io_mapping import DeviceModel, ProbeSource, record_readings
from logistream.errors import ConfigError
from logistream.ingest.device_event_ids import device_event_id
from logistream.ingest.registered_fields import (
    CALIBRATION_CERTIFICATE_FIELD,
    CALIBRATION_OFFSET_FIELD,
    registered_fields,
)
from logistream.registry.devices import Device, Devices, Probe
from logistream.registry.models import Registry

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Calibrated:
    """The calibration record a reading of one probe carries (not applied)."""

    offset_c: float
    certificate: str | None


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """How one Teltonika device's records become readings."""

    imei: str
    truck_id: str
    model: DeviceModel
    probes: tuple[ProbeSource, ...]
    calibration: Mapping[str | None, Calibrated]
    """By the ``probe_id`` the readings carry (None: the truck's single probe)."""
    registered: Mapping[str, str] = field(default_factory=dict)
    """What the fleet registry fills in for this truck: cargo, driver (a tracker knows neither)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One reading ready to produce: its key (the truck), its JSON and its event id."""

    key: str
    value: bytes
    event_id: str


def _calibrated(probe: Probe | None) -> Calibrated:
    if probe is None:
        return Calibrated(0.0, None)
    record = probe.calibration
    return Calibrated(probe.offset_c, None if record is None else record.certificate)


def device_plan(device: Device, models: Mapping[str, DeviceModel]) -> DevicePlan:
    """The plan of one Teltonika device. Raises ConfigError naming the device when its model is
    not in the IO mapping file or one of its probes sits on an IO id the file does not describe."""
    model = models.get(device.model)
    if model is None:
        raise ConfigError(
            f"device {device.device_id} (truck {device.truck_id}): model {device.model!r} is not "
            f"in the IO mapping file (models: {', '.join(sorted(models))}); add a "
            f"[models.{device.model}] table or correct the model in devices.toml"
        )
    if all(probe.probe_id is None for probe in device.probes):
        # No probe list in devices.toml: the model's usual probes, without calibration records.
        probes = model.probes
        calibration = {source.probe_id: _calibrated(None) for source in probes}
    else:
        several = len(device.probes) > 1
        sources: list[ProbeSource] = []
        calibration = {}
        for probe in device.probes:
            probe_id = probe.probe_id if several else None
            try:
                sources.append(model.probe(probe_id, probe.io_id))
            except ConfigError as error:
                raise ConfigError(f"device {device.device_id}: {error}") from None
            calibration[probe_id] = _calibrated(probe)
        probes = tuple(sources)
    return DevicePlan(device.device_id, device.truck_id, model, probes, calibration)


def device_plans(
    devices: Devices,
    models: Mapping[str, DeviceModel],
    registry: Registry | None = None,
) -> dict[str, DevicePlan]:
    """The plans of every Teltonika device of the registry, by IMEI (the handshake's key); with
    ``registry``, each truck's registered cargo and driver go into its readings."""
    plans = {}
    for device in devices.of_kind("teltonika"):
        plan = device_plan(device, models)
        if registry is not None:
            plan = replace(plan, registered=registered_fields(registry, device.truck_id))
        plans[device.device_id] = plan
    return plans


def readings(plan: DevicePlan, packet: AvlPacket) -> list[dict[str, Any]]:
    """The packet's readings as wire-contract dicts, in event-time order (a device's records
    usually come oldest first already; the sort is stable for readings of one moment)."""
    out: list[dict[str, Any]] = []
    for record in packet.records:
        device_time = str(record.timestamp_ms)
        for reading in record_readings(record, plan.model, plan.truck_id, plan.probes):
            probe_id = reading.get("probe_id")
            calibrated = plan.calibration.get(probe_id, Calibrated(0.0, None))
            reading["event_id"] = device_event_id(plan.imei, probe_id, device_time)
            for name, value in plan.registered.items():
                reading.setdefault(name, value)
            reading[CALIBRATION_OFFSET_FIELD] = calibrated.offset_c
            if calibrated.certificate is not None:
                reading[CALIBRATION_CERTIFICATE_FIELD] = calibrated.certificate
            out.append(reading)
    out.sort(key=lambda reading: float(reading["timestamp"]))
    return out


def messages(plan: DevicePlan, packet: AvlPacket) -> list[Message]:
    """The packet's readings as Kafka messages keyed by the truck."""
    return [
        Message(plan.truck_id, _encode(reading), str(reading["event_id"]))
        for reading in readings(plan, packet)
    ]
