"""The device registry: which tracker reports for which truck, and the truck's calibrated probes.

A device is what connects to LogiStream: an MQTT client (its id is its MQTT username and names
its topic) or a Teltonika tracker (its id is its IMEI). Each device belongs to one truck of the
fleet and carries that truck's temperature probes, each with its calibration record. A device
without a probe list has the truck's single probe, exactly as a truck without a device behaves
today: its readings carry no ``probe_id``.

The data lives in ``devices.toml``: the shipped one for the shipped fleet, or the one in
``LOGISTREAM_REGISTRY_DIR`` (a folder without it has no devices: the shipped ones name the
shipped trucks). Every error names the file, the device and the field in one line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

DEVICE_FILE = "devices.toml"

DeviceKind = Literal["mqtt", "teltonika"]
ProbePosition = Literal["front", "rear", "return_air", "product"]
KINDS: tuple[str, ...] = get_args(DeviceKind)
POSITIONS: tuple[str, ...] = get_args(ProbePosition)

# An id is an MQTT username, a topic level and a line of the broker's password and ACL files:
# no '/', '+', '#', ':', spaces or control characters can be allowed in it.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
IMEI_PATTERN = re.compile(r"[0-9]{15}")
RESERVED_IDS = frozenset({"gateway"})
"""MQTT usernames the stack keeps for itself."""
MAX_OFFSET_C = 10.0
"""A calibration offset larger than this is a typo or a broken probe, not a calibration."""

DEVICE_FIELDS = frozenset({"id", "kind", "model", "truck", "probe"})
PROBE_FIELDS = frozenset({"id", "position", "io", "offset", "certificate", "calibrated", "due"})
DEFAULT_MQTT_MODEL = "logistream-json"
"""An MQTT device that sends LogiStream's own JSON reading needs no model."""


class DeviceFileError(ValueError):
    """One wrong entry of ``devices.toml``; the loader turns it into a ``ConfigError``."""


@dataclass(frozen=True, slots=True)
class Calibration:
    certificate: str
    """The calibration certificate's number."""
    calibrated: date
    due: date
    """The next calibration is due on this day; from it on the probe is overdue."""


@dataclass(frozen=True, slots=True)
class Probe:
    probe_id: str | None
    """``None`` only for a truck's single implicit probe (readings without ``probe_id``)."""
    position: ProbePosition = "product"
    io_id: int | None = None
    """The device's IO element (Teltonika AVL id) that carries this probe; ``None``: the model's
    default temperature input."""
    offset_c: float = 0.0
    """Calibration offset in °C: the true temperature is the raw value plus this."""
    calibration: Calibration | None = None

    def overdue(self, on: date) -> bool:
        """True when the calibration is due on or before ``on`` (no record: not overdue)."""
        return self.calibration is not None and self.calibration.due <= on


SINGLE_PROBE = Probe(probe_id=None)


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    kind: DeviceKind
    model: str
    truck_id: str
    probes: tuple[Probe, ...] = (SINGLE_PROBE,)

    def probe(self, probe_id: str | None) -> Probe | None:
        return next((p for p in self.probes if p.probe_id == probe_id), None)


@dataclass(frozen=True, slots=True)
class Devices:
    """Every device of the registry, found by its id or its truck."""

    all: tuple[Device, ...] = ()
    by_id: Mapping[str, Device] = field(default_factory=dict, compare=False)
    by_truck: Mapping[str, Device] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, devices: tuple[Device, ...]) -> Devices:
        return cls(
            all=devices,
            by_id={d.device_id: d for d in devices},
            by_truck={d.truck_id: d for d in devices},
        )

    def device(self, device_id: str) -> Device | None:
        return self.by_id.get(device_id)

    def for_truck(self, truck_id: str) -> Device | None:
        return self.by_truck.get(truck_id)

    def of_kind(self, kind: DeviceKind) -> tuple[Device, ...]:
        return tuple(d for d in self.all if d.kind == kind)


NO_DEVICES = Devices()


def parse_devices(data: Mapping[str, Any], where: str, truck_ids: Collection[str]) -> Devices:
    """The devices of a parsed ``devices.toml``; ``where`` names the file in errors.

    Raises :class:`DeviceFileError` with one line: the file, the device and the field.
    """
    unknown = set(data) - {"device"}
    if unknown:
        raise DeviceFileError(
            f"{where}: unknown table {sorted(unknown)[0]!r}; devices are [[device]] entries"
        )
    entries = data.get("device", [])
    if not isinstance(entries, list):
        raise DeviceFileError(f"{where}: 'device' must be [[device]] entries")
    devices: list[Device] = []
    seen: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{where} device {number}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label = f"{where} device {entry['id']!r}"
        device = _device(entry, label, truck_ids)
        if device.device_id in seen:
            raise DeviceFileError(f"{label}: field 'id': the id is used twice")
        if device.truck_id in seen.values():
            other = next(k for k, v in seen.items() if v == device.truck_id)
            raise DeviceFileError(
                f"{label}: field 'truck': {device.truck_id!r} already has device {other!r}; "
                "a truck has one device (list all its probes there)"
            )
        seen[device.device_id] = device.truck_id
        devices.append(device)
    return Devices.of(tuple(devices))


def _device(entry: object, label: str, truck_ids: Collection[str]) -> Device:
    if not isinstance(entry, dict):
        raise DeviceFileError(f"{label}: must be a table of fields")
    _no_unknown(entry, DEVICE_FIELDS, label)
    device_id = _text(entry, "id", label)
    kind = _text(entry, "kind", label)
    if kind not in KINDS:
        raise DeviceFileError(
            f"{label}: field 'kind' must be one of {', '.join(KINDS)} (got {kind!r})"
        )
    if not ID_PATTERN.fullmatch(device_id):
        raise DeviceFileError(
            f"{label}: field 'id' must be 1 to 64 letters, digits, '.', '_' or '-' "
            f"(it is an MQTT username and topic level; got {device_id!r})"
        )
    if device_id in RESERVED_IDS:
        raise DeviceFileError(f"{label}: field 'id': {device_id!r} is reserved for the stack")
    if kind == "teltonika" and not IMEI_PATTERN.fullmatch(device_id):
        raise DeviceFileError(
            f"{label}: field 'id' of a teltonika device is its IMEI: 15 digits (got {device_id!r})"
        )
    if kind == "teltonika" or "model" in entry:
        model = _text(entry, "model", label)
    else:
        model = DEFAULT_MQTT_MODEL
    truck_id = _text(entry, "truck", label)
    if truck_id not in truck_ids:
        raise DeviceFileError(f"{label}: field 'truck': {truck_id!r} is not in fleet.toml")
    probes = _probes(entry.get("probe"), label)
    return Device(device_id, kind, model, truck_id, probes)  # type: ignore[arg-type]


def _probes(raw: object, label: str) -> tuple[Probe, ...]:
    if raw is None:
        return (SINGLE_PROBE,)
    if not isinstance(raw, list) or not raw:
        raise DeviceFileError(
            f"{label}: field 'probe' must be [[device.probe]] entries (leave it out for one probe)"
        )
    probes: list[Probe] = []
    for number, entry in enumerate(raw, start=1):
        where = f"{label} probe {number}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            where = f"{label} probe {entry['id']!r}"
        probe = _probe(entry, where)
        if any(p.probe_id == probe.probe_id for p in probes):
            raise DeviceFileError(f"{where}: field 'id': the id is used twice on this device")
        if probe.io_id is not None and any(p.io_id == probe.io_id for p in probes):
            raise DeviceFileError(f"{where}: field 'io': IO {probe.io_id} is used twice")
        probes.append(probe)
    return tuple(probes)


def _probe(entry: object, where: str) -> Probe:
    if not isinstance(entry, dict):
        raise DeviceFileError(f"{where}: must be a table of fields")
    _no_unknown(entry, PROBE_FIELDS, where)
    probe_id = _text(entry, "id", where)
    if not ID_PATTERN.fullmatch(probe_id):
        raise DeviceFileError(
            f"{where}: field 'id' must be 1 to 64 letters, digits, '.', '_' or '-' "
            f"(got {probe_id!r})"
        )
    position = _text(entry, "position", where)
    if position not in POSITIONS:
        raise DeviceFileError(
            f"{where}: field 'position' must be one of {', '.join(POSITIONS)} (got {position!r})"
        )
    io_id = entry.get("io")
    if io_id is not None and (
        isinstance(io_id, bool) or not isinstance(io_id, int) or not 0 <= io_id <= 65535
    ):
        raise DeviceFileError(
            f"{where}: field 'io' must be an IO id from 0 to 65535 (got {io_id!r})"
        )
    offset = entry.get("offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        raise DeviceFileError(f"{where}: field 'offset' must be a number of °C (got {offset!r})")
    if not abs(offset) <= MAX_OFFSET_C:
        raise DeviceFileError(
            f"{where}: field 'offset' must be within ±{MAX_OFFSET_C:g} °C (got {offset!r})"
        )
    return Probe(
        probe_id=probe_id,
        position=position,  # type: ignore[arg-type]
        io_id=io_id,
        offset_c=float(offset),
        calibration=_calibration(entry, where),
    )


def _calibration(entry: dict[str, Any], where: str) -> Calibration | None:
    present = [name for name in ("certificate", "calibrated", "due") if name in entry]
    if not present:
        return None
    for name in ("certificate", "calibrated", "due"):
        if name not in entry:
            raise DeviceFileError(
                f"{where}: field {name!r} is missing; a calibration record needs certificate, "
                "calibrated and due (or none of them)"
            )
    certificate = _text(entry, "certificate", where)
    calibrated = _date(entry, "calibrated", where)
    due = _date(entry, "due", where)
    if due <= calibrated:
        raise DeviceFileError(
            f"{where}: field 'due' ({due}) must be after 'calibrated' ({calibrated})"
        )
    return Calibration(certificate, calibrated, due)


def _no_unknown(entry: dict[str, Any], known: frozenset[str], where: str) -> None:
    # A misspelt field (``ofset``) must not silently drop a calibration.
    unknown = sorted(set(entry) - known)
    if unknown:
        raise DeviceFileError(
            f"{where}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(known))}"
        )


def _text(entry: dict[str, Any], name: str, where: str) -> str:
    if name not in entry:
        raise DeviceFileError(f"{where}: field {name!r} is missing")
    value = entry[name]
    if not isinstance(value, str) or not value.strip():
        raise DeviceFileError(f"{where}: field {name!r} must be a non-empty string (got {value!r})")
    return value


def _date(entry: dict[str, Any], name: str, where: str) -> date:
    value = entry[name]
    # TOML has dates (calibrated = 2026-03-02); a quoted ISO date is taken too.
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DeviceFileError(
        f"{where}: field {name!r} must be a date such as 2026-03-02 (got {value!r})"
    )
