"""Teltonika IO elements to reading fields, per device model: the one place that knows which IO id
is the cargo probe, the door or the fuel level, and in which unit.

The mapping is data (``registry/data/io_mappings.toml``, or a fleet's own file of the same shape):
each IO id is described once (Teltonika's name, signed or not, multiplier, the raw values that
are sensor error codes), and each device model names which IO ids carry its temperature probes
and its other fields. :func:`record_readings` turns one decoded AVL record into the readings of
the wire contract (``events.Reading``), one per probe that reported a value. Pure: no calibration
is applied here (a raw value stays raw), and nothing is validated against the contract's bounds
beyond what the device itself flags: the gateway runs the contract's one validation.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from logistream.devices.codec8 import AvlRecord, IoElement
from logistream.errors import ConfigError

SHIPPED_FILE: Final = "io_mappings.toml"

BOOL_FIELDS: Final = frozenset({"door_open", "reefer_on", "defrost", "ignition"})
NUMBER_FIELDS: Final = frozenset({"fuel", "humidity", "external_voltage_v"})
EXTRA_FIELDS: Final = frozenset({"ignition", "external_voltage_v"})
"""Not contract fields: the archive keeps them as extras (DESIGN.md: unknown fields are kept)."""

# Scaled values are rounded to this many decimals, so 2345 x 0.01 is 23.45, not 23.450000000000003.
DECIMALS: Final = 6


@dataclass(frozen=True, slots=True)
class IoSpec:
    """One Teltonika IO element: how its raw value becomes a number in the field's unit."""

    io_id: int
    name: str
    signed: bool = False
    scale: float = 1.0
    invalid: frozenset[int] = frozenset()
    """Raw values that are the sensor's error codes (not connected, not ready...)."""

    def value(self, element: IoElement) -> float | None:
        """The scaled value, or None when the raw value is an error code."""
        raw = element.signed if self.signed else element.unsigned
        if raw in self.invalid:
            return None
        return round(raw * self.scale, DECIMALS)


@dataclass(frozen=True, slots=True)
class FieldSource:
    """Which IO element fills one reading field. ``invert`` for a switch wired the other way."""

    field: str
    io: IoSpec
    invert: bool = False


@dataclass(frozen=True, slots=True)
class ProbeSource:
    """Which IO element carries one temperature probe. ``probe_id`` None: the truck's single
    probe (its readings carry no ``probe_id``)."""

    probe_id: str | None
    io: IoSpec


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A device model's usual wiring: its temperature probes in order (the first is its default
    temperature input) and its other fields; ``io_specs`` every IO element the file describes, so
    a device whose probes sit on other inputs can name them (:meth:`probe`)."""

    name: str
    probes: tuple[ProbeSource, ...]
    fields: tuple[FieldSource, ...]
    io_specs: Mapping[int, IoSpec] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def probe(self, probe_id: str | None, io_id: int | None) -> ProbeSource:
        """The source of a device's own probe (``registry.devices.Probe``): its IO element, or,
        without one, the model's default temperature input. An IO id the mapping file does not
        describe raises ConfigError (its unit is unknown, so its value cannot be read)."""
        if io_id is None:
            return ProbeSource(probe_id, self.probes[0].io)
        spec = self.io_specs.get(io_id)
        if spec is None:
            raise ConfigError(
                f"model {self.name}: probe {probe_id or '(single)'} is on IO {io_id}, which the "
                f"IO mapping file does not describe: add an [io.{io_id}] table (name, signed, "
                "scale, invalid)"
            )
        return ProbeSource(probe_id, spec)


def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {problem}")


def _io_id(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise _fail(where, f"an IO id is an integer 0..65535, not {value!r}")
    return value


def _io_spec(key: str, table: Any, where: str) -> IoSpec:
    at = f"{where} [io.{key}]"
    if not key.isdigit() or not isinstance(table, dict):
        raise _fail(at, "write [io.ID] with the IO id as a number, then its name and scale")
    unknown = set(table) - {"name", "signed", "scale", "invalid"}
    if unknown:
        raise _fail(at, f"unknown keys {sorted(unknown)} (allowed: name, signed, scale, invalid)")
    try:
        scale = float(table.get("scale", 1.0))
        invalid = frozenset(int(raw) for raw in table.get("invalid", []))
    except (TypeError, ValueError) as error:
        raise _fail(at, f"scale is a number and invalid a list of integers ({error})") from error
    if not math.isfinite(scale) or scale == 0:
        raise _fail(at, f"scale must be a finite non-zero number, not {scale}")
    return IoSpec(
        io_id=_io_id(int(key), at),
        name=str(table.get("name", f"IO {key}")),
        signed=bool(table.get("signed", False)),
        scale=scale,
        invalid=invalid,
    )


def _spec_for(io_id: object, specs: dict[int, IoSpec], where: str) -> IoSpec:
    found = specs.get(_io_id(io_id, where))
    if found is None:
        raise _fail(where, f"IO {io_id} is not described: add an [io.{io_id}] table")
    return found


def _field(name: str, value: Any, specs: dict[int, IoSpec], where: str) -> FieldSource:
    at = f"{where} fields.{name}"
    if name not in BOOL_FIELDS | NUMBER_FIELDS:
        allowed = ", ".join(sorted(BOOL_FIELDS | NUMBER_FIELDS))
        raise _fail(at, f"not a field a device can fill (one of: {allowed})")
    if isinstance(value, dict):
        if set(value) - {"io", "invert"} or "io" not in value:
            raise _fail(at, "write an IO id, or { io = ID, invert = true }")
        invert = bool(value.get("invert", False))
        if invert and name not in BOOL_FIELDS:
            raise _fail(at, "invert is for switches (door_open, reefer_on, defrost, ignition)")
        return FieldSource(name, _spec_for(value["io"], specs, at), invert)
    return FieldSource(name, _spec_for(value, specs, at))


def _model(name: str, table: Any, specs: dict[int, IoSpec], where: str) -> DeviceModel:
    at = f"{where} [models.{name}]"
    if not isinstance(table, dict) or set(table) - {"probes", "fields"}:
        raise _fail(at, "a model has `probes` and `fields` tables")
    probes = table.get("probes", {})
    fields = table.get("fields", {})
    if not isinstance(probes, dict) or not probes:
        raise _fail(at, "name at least one temperature probe: probes = { rear = 72 }")
    if not isinstance(fields, dict):
        raise _fail(at, "fields is a table: fields = { door_open = 1 }")
    # One probe is the truck's single probe: its readings carry no probe_id.
    several = len(probes) > 1
    return DeviceModel(
        name=name,
        probes=tuple(
            ProbeSource(probe if several else None, _spec_for(io_id, specs, f"{at} probes.{probe}"))
            for probe, io_id in probes.items()
        ),
        fields=tuple(_field(key, value, specs, at) for key, value in fields.items()),
        io_specs=specs,
    )


def parse_io_mappings(text: str, where: str) -> dict[str, DeviceModel]:
    """The device models of one mapping file's text; ``where`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _fail(where, f"not valid TOML ({error})") from error
    specs: dict[int, IoSpec] = {}
    for key, table in data.get("io", {}).items():
        spec = _io_spec(key, table, where)
        specs[spec.io_id] = spec
    models = data.get("models", {})
    if not isinstance(models, dict) or not models:
        raise _fail(where, "no [models.NAME] table: name at least one device model")
    return {name: _model(name, table, specs, where) for name, table in models.items()}


def load_io_mappings(path: Path | None = None) -> dict[str, DeviceModel]:
    """The device models of ``path``, or of the shipped ``registry/data/io_mappings.toml``."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise _fail(str(path), f"cannot read the IO mapping file ({error})") from error
        return parse_io_mappings(text, str(path))
    shipped = resources.files("logistream.registry").joinpath("data", SHIPPED_FILE)
    return parse_io_mappings(shipped.read_text("utf-8"), f"shipped {SHIPPED_FILE}")


def record_fields(record: AvlRecord, model: DeviceModel) -> dict[str, Any]:
    """The fields one record gives every reading of it: event time, position (with a GPS fix
    only) and the model's mapped IO fields that the record carries with a valid value."""
    fields: dict[str, Any] = {"timestamp": record.timestamp_ms / 1000.0}
    gps = record.gps
    if gps.satellites > 0:
        fields |= {
            "lat": gps.latitude,
            "lon": gps.longitude,
            "speed_kmh": float(gps.speed),
            "heading_deg": float(gps.angle),
        }
    for source in model.fields:
        element = record.io_value(source.io.io_id)
        if element is None:
            continue
        value = source.io.value(element)
        if value is None:
            continue
        if source.field in BOOL_FIELDS:
            fields[source.field] = (value != 0) != source.invert
        else:
            fields[source.field] = value
    return fields


def record_readings(
    record: AvlRecord,
    model: DeviceModel,
    truck_id: str,
    probes: Sequence[ProbeSource] | None = None,
) -> list[dict[str, Any]]:
    """The readings (wire-contract dicts) of one record: one per probe that reported a valid
    temperature, in probe order, each naming its ``probe_id`` unless it is the truck's single
    probe. ``probes``: the device's own (from the device registry, through
    :meth:`DeviceModel.probe`); None: the model's usual ones. A record without a valid probe
    value gives none (``temp`` is required); the raw value is given, no calibration applied."""
    shared = record_fields(record, model)
    readings: list[dict[str, Any]] = []
    for source in model.probes if probes is None else probes:
        element = record.io_value(source.io.io_id)
        temp = None if element is None else source.io.value(element)
        if temp is None:
            continue
        reading = {"truck_id": truck_id, "temp": temp, **shared}
        if source.probe_id is not None:
            reading["probe_id"] = source.probe_id
        readings.append(reading)
    return readings
