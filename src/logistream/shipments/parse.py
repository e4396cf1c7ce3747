"""A shipment file (TOML or JSON) read into a validated ``Shipment``, or refused with one line.

The file is one table; every key below is known, any other is refused. TOML example (JSON has the
same shape: dates and datetimes as ISO 8601 strings, a datetime with its UTC offset)::

    shipment_id = "SHP-2026-0118"
    reference = "KEMSA/EPI/2026/118"
    cargo = "vaccines"              # a cargo profile of the registry (cargo.toml)
    truck_id = "KCB 781C"           # a truck of the registry (fleet.toml)
    probes = ["front", "rear"]      # optional; absent: every probe of the truck

    [shipper]
    id = "kemsa"
    name = "Kenya Medical Supplies Authority"

    [receiver]
    id = "moh-western"
    name = "Western Region Vaccine Depots"

    [[lots]]
    number = "MR-2611"
    product = "Measles-rubella vaccine, 10-dose vial"
    quantity = 40
    unit = "carton"
    expiry = 2027-09-30             # optional

    [[stops]]
    id = "nairobi-central"
    name = "Nairobi central vaccine store"
    kind = "origin"                 # the first stop is the origin, the last the destination,
                                    # the others are drops
    window_start = 2026-12-08T06:00:00+03:00
    window_end = 2026-12-08T07:00:00+03:00
    drops = []                      # lot numbers handed over here (optional)
    geofence = { circle = { lat = -1.2864, lon = 36.8172, radius_m = 300 } }

    [[stops]]
    id = "kisumu-depot"
    name = "Kisumu regional vaccine depot"
    kind = "destination"
    window_start = 2026-12-08T13:00:00+03:00
    window_end = 2026-12-08T14:30:00+03:00
    drops = ["MR-2611"]
    # a circle as above, or a polygon of [lat, lon] corners in order round its edge:
    geofence = { polygon = [[-0.09, 34.766], [-0.09, 34.77], [-0.094, 34.77], [-0.094, 34.766]] }

Refused, each with a ``ShipmentError`` whose message starts with the field's path: a missing or
unknown field, an unknown cargo profile or truck, a stop without a geofence, an invalid polygon,
consecutive stops whose fences overlap, a lot without a number, a lot number given twice, a stop
dropping a lot that is not in the shipment, a first stop that is not the origin or a last that is
not the destination, a window that ends before it starts, a probe id the truck does not have in
devices.toml (a truck without probes listed there has one unnamed probe, so it takes no ids).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from logistream.registry import Registry
from logistream.shipments import geofence as fences
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import STOP_KINDS, Lot, Organisation, Shipment, Stop, StopKind

_TOP = {"shipment_id", "reference", "cargo", "truck_id", "probes", "shipper", "receiver", "lots",
        "stops"}  # fmt: skip
_ORG = {"id", "name"}
_LOT = {"number", "product", "quantity", "unit", "expiry"}
_STOP = {"id", "name", "kind", "geofence", "window_start", "window_end", "drops"}
_CIRCLE = {"lat", "lon", "radius_m"}


def load_shipment_file(path: Path | str, registry: Registry) -> Shipment:
    """The shipment in a ``.toml`` or ``.json`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ShipmentError(str(path), "a shipment file ends in .toml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShipmentError(str(path), f"cannot be read ({exc.strerror}); check the path") from exc
    try:
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise ShipmentError(str(path), f"is not valid {suffix[1:].upper()} ({detail})") from exc
    if not isinstance(data, Mapping):
        raise ShipmentError(str(path), "must hold one table (a JSON object)")
    return parse_shipment(data, registry)


def parse_shipment(data: Mapping[str, Any], registry: Registry) -> Shipment:
    """The validated shipment that ``data`` (a decoded TOML or JSON file) describes."""
    _known(data, _TOP, "")
    cargo = _text(data, "cargo", "")
    if cargo not in registry.cargo:
        raise ShipmentError(
            "cargo",
            f"unknown cargo profile {cargo!r}; use one of {', '.join(sorted(registry.cargo))}",
        )
    truck_id = _text(data, "truck_id", "")
    if registry.truck(truck_id) is None:
        raise ShipmentError(
            "truck_id", f"unknown truck {truck_id!r}; use a truck id of the fleet (fleet.toml)"
        )
    probes = tuple(_texts(data.get("probes", []), "probes"))
    if len(set(probes)) != len(probes):
        raise ShipmentError("probes", "a probe is listed twice; list each probe once")
    _known_probes(probes, truck_id, registry)
    lots = _lots(data.get("lots"))
    stops = _stops(data.get("stops"), {lot.number for lot in lots})
    return Shipment(
        shipment_id=_text(data, "shipment_id", ""),
        reference=_text(data, "reference", ""),
        shipper=_organisation(data.get("shipper"), "shipper"),
        receiver=_organisation(data.get("receiver"), "receiver"),
        cargo=cargo,
        truck_id=truck_id,
        probes=probes,
        lots=lots,
        stops=stops,
    )


def _known_probes(probes: Sequence[str], truck_id: str, registry: Registry) -> None:
    """Each named probe must be one of the truck's in devices.toml; a truck without a device
    entry, or whose device lists no probes, has one unnamed probe, so it takes no names."""
    device = registry.devices.for_truck(truck_id)
    named = [] if device is None else [p.probe_id for p in device.probes if p.probe_id is not None]
    for index, probe in enumerate(probes):
        if probe not in named:
            fix = (
                f"the truck's probes are {', '.join(named)}; use those or leave probes out"
                if named
                else "the truck has one unnamed probe (devices.toml); leave probes out"
            )
            raise ShipmentError(f"probes[{index}]", f"{truck_id} has no probe {probe!r}; {fix}")


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _known(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(key) for key in table if key not in allowed)
    if unknown:
        raise ShipmentError(
            _path(where, unknown[0]),
            f"unknown field; the fields here are {', '.join(sorted(allowed))}",
        )


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        raise ShipmentError(where, "missing; add this table")
    if not isinstance(value, Mapping):
        raise ShipmentError(where, "must be a table (a JSON object)")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise ShipmentError(_path(where, key), "missing; add it")
    if not isinstance(value, str) or not value.strip():
        raise ShipmentError(_path(where, key), "must be a non-empty string")
    return value.strip()


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ShipmentError(where, "must be a list of non-empty strings")
    return [v.strip() for v in value]


def _number(table: Mapping[str, Any], key: str, where: str) -> float:
    value = table.get(key)
    if value is None:
        raise ShipmentError(_path(where, key), "missing; add it")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ShipmentError(_path(where, key), f"{value!r} is not a number")
    return float(value)


def _organisation(value: Any, where: str) -> Organisation:
    table = _table(value, where)
    _known(table, _ORG, where)
    return Organisation(_text(table, "id", where), _text(table, "name", where))


def _lots(value: Any) -> tuple[Lot, ...]:
    if not isinstance(value, list) or not value:
        raise ShipmentError("lots", "a shipment carries at least one lot; add a [[lots]] table")
    lots: list[Lot] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"lots[{index}]"
        table = _table(item, where)
        _known(table, _LOT, where)
        if table.get("number") in (None, ""):
            raise ShipmentError(f"{where}.number", "missing; give the lot number")
        number = _text(table, "number", where)
        if number in seen:
            raise ShipmentError(
                f"{where}.number", f"lot {number!r} is listed twice; give each lot once"
            )
        seen.add(number)
        quantity = _number(table, "quantity", where)
        if quantity <= 0:
            raise ShipmentError(f"{where}.quantity", f"{quantity} is not above 0")
        lots.append(
            Lot(
                number=number,
                product=_text(table, "product", where),
                quantity=quantity,
                unit=_text(table, "unit", where),
                expiry=_date(table.get("expiry"), f"{where}.expiry"),
            )
        )
    return tuple(lots)


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ShipmentError(where, "must be a date (2027-09-30), not a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ShipmentError(where, f"{value!r} is not a date; write it as 2027-09-30")


def _datetime(value: Any, where: str) -> datetime:
    if value is None:
        raise ShipmentError(where, "missing; add it")
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise ShipmentError(
            where, f"{value!r} is not a datetime; write it as 2026-12-08T06:00:00+03:00"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ShipmentError(where, "has no UTC offset; add one, as in 2026-12-08T06:00:00+03:00")
    return parsed


def _geofence(value: Any, where: str) -> fences.Geofence:
    if value is None:
        raise ShipmentError(where, "missing; give the stop a circle or a polygon geofence")
    table = _table(value, where)
    _known(table, {"circle", "polygon"}, where)
    if len(table) != 1:
        raise ShipmentError(where, "give exactly one of circle or polygon")
    try:
        if "circle" in table:
            inner = f"{where}.circle"
            circle = _table(table["circle"], inner)
            _known(circle, _CIRCLE, inner)
            return fences.circle(
                _number(circle, "lat", inner),
                _number(circle, "lon", inner),
                _number(circle, "radius_m", inner),
            )
        inner = f"{where}.polygon"
        return fences.polygon(_corners(table["polygon"], inner))
    except ShipmentError as exc:
        if exc.field.startswith(where):
            raise
        raise ShipmentError(f"{inner}.{exc.field}", exc.fix) from exc


def _corners(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise ShipmentError(where, "must be a list of [lat, lon] pairs")
    corners: list[tuple[float, float]] = []
    for index, pair in enumerate(value):
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        )
        if not ok:
            raise ShipmentError(f"{where}[{index}]", f"{pair!r} is not a [lat, lon] pair")
        corners.append((float(pair[0]), float(pair[1])))
    return corners


def _stops(value: Any, lot_numbers: set[str]) -> tuple[Stop, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise ShipmentError("stops", "a shipment needs at least an origin and a destination stop")
    stops: list[Stop] = []
    ids: set[str] = set()
    for index, item in enumerate(value):
        where = f"stops[{index}]"
        table = _table(item, where)
        _known(table, _STOP, where)
        stop_id = _text(table, "id", where)
        if stop_id in ids:
            raise ShipmentError(f"{where}.id", f"stop id {stop_id!r} is used twice; make it unique")
        ids.add(stop_id)
        kind = _kind(table.get("kind"), index, len(value), f"{where}.kind")
        start = _datetime(table.get("window_start"), f"{where}.window_start")
        end = _datetime(table.get("window_end"), f"{where}.window_end")
        if end < start:
            raise ShipmentError(
                f"{where}.window_end",
                f"{end.isoformat()} is before window_start {start.isoformat()}; swap or fix them",
            )
        drops = tuple(_texts(table.get("drops", []), f"{where}.drops"))
        for number in drops:
            if number not in lot_numbers:
                raise ShipmentError(
                    f"{where}.drops",
                    f"lot {number!r} is not among the shipment's lots; add it to lots or remove it",
                )
        stops.append(
            Stop(
                stop_id=stop_id,
                name=_text(table, "name", where),
                kind=kind,
                geofence=_geofence(table.get("geofence"), f"{where}.geofence"),
                window_start=start,
                window_end=end,
                drops=drops,
            )
        )
    _no_overlaps(stops)
    return tuple(stops)


def _kind(value: Any, index: int, count: int, where: str) -> StopKind:
    if value not in STOP_KINDS:
        raise ShipmentError(where, f"{value!r} is not a stop kind; use origin, drop or destination")
    expected: StopKind = "origin" if index == 0 else "destination" if index == count - 1 else "drop"
    if value != expected:
        position = {"origin": "the first", "destination": "the last"}.get(expected, "a middle")
        raise ShipmentError(where, f"{value!r} but {position} stop must be {expected!r}")
    return expected


def _no_overlaps(stops: Sequence[Stop]) -> None:
    """Consecutive stops must not share ground: the truck could not leave one for the next."""
    for index in range(1, len(stops)):
        before, after = stops[index - 1], stops[index]
        if before.geofence.overlaps(after.geofence):
            raise ShipmentError(
                f"stops[{index}].geofence",
                f"overlaps the geofence of the stop before ({before.stop_id!r}); "
                "shrink or move one of them",
            )
