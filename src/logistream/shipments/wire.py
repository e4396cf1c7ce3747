"""A shipment as it travels on the compacted ``shipments`` topic (key = shipment id): the record.

The record carries the whole shipment in its file format (:func:`to_document`, the shape
``parse.py`` reads), so a reader rebuilds it with ``parse_shipment`` and the one validation there;
plus its status, its version (1 at creation, +1 at every change, so a reader keeps the highest),
the latest stage a dispatcher set by hand, and the proofs of delivery recorded so far (so the
speed layer learns of a rejected lot from this topic and alerts the shipper). Encoded as UTF-8
JSON::

    {"shipment": {...the file format...}, "status": "active", "version": 3,
     "updated_at": "2026-12-08T05:12:00+00:00",
     "override": {"stage": "at_stop", "stop_index": 1, "by": "cli:ann",
                  "at": "2026-12-08T10:40:00+00:00", "reason": "GPS lost in the yard"},
     "pods": [{"stop_index": 1, "lot": "MR-2611", "decision": "rejected", "by": "wanjiku",
               "name": "Wanjiku Otieno", "at": "2026-12-08T11:02:00+00:00",
               "note": "cold-chain indicator tripped"}]}

A record without ``pods`` (written before proof of delivery existed) decodes with none.

Pure: no Kafka, no database; the store and the publisher use it, and the speed layer reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, get_args

from logistream.registry import Registry
from logistream.shipments.errors import ShipmentError
from logistream.shipments.model import STAGES, Shipment, Stage, Stop
from logistream.shipments.parse import parse_shipment
from logistream.shipments.pod import (
    ProofOfDelivery,
    check_pods_fit,
    pod_document,
    pod_from_document,
)

ShipmentStatus = Literal["active", "cancelled", "delivered"]
STATUSES: Final[tuple[ShipmentStatus, ...]] = get_args(ShipmentStatus)


@dataclass(frozen=True, slots=True)
class StageOverride:
    """A dispatcher set the stage by hand (logged in ``shipment_changes``)."""

    stage: Stage
    stop_index: int
    """Index into ``shipment.stops``, as in the ``Stage`` docstring (model.py)."""
    by: str
    """The user name."""
    at: datetime
    """Aware."""
    reason: str


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    shipment: Shipment
    status: ShipmentStatus
    version: int
    """1 at creation, +1 at every change."""
    updated_at: datetime
    """Aware."""
    override: StageOverride | None = None
    """The latest one."""
    pods: tuple[ProofOfDelivery, ...] = ()
    """The proofs of delivery recorded so far, by stop index then lot number."""


# ---- the file format -------------------------------------------------------------------------


def _stop_document(stop: Stop) -> dict[str, Any]:
    fence = stop.geofence
    if fence.kind == "circle":
        (lat, lon), radius = fence.points[0], fence.radius_m
        geofence: dict[str, Any] = {"circle": {"lat": lat, "lon": lon, "radius_m": radius}}
    else:
        geofence = {"polygon": [[lat, lon] for lat, lon in fence.points]}
    return {
        "id": stop.stop_id,
        "name": stop.name,
        "kind": stop.kind,
        "window_start": stop.window_start.isoformat(),
        "window_end": stop.window_end.isoformat(),
        "drops": list(stop.drops),
        "geofence": geofence,
    }


def to_document(shipment: Shipment) -> dict[str, Any]:
    """The shipment in the file format of ``parse.py``, JSON-ready (dates as ISO 8601 strings);
    ``parse_shipment(to_document(s), registry) == s``."""
    lots: list[dict[str, Any]] = []
    for lot in shipment.lots:
        entry: dict[str, Any] = {
            "number": lot.number,
            "product": lot.product,
            "quantity": lot.quantity,
            "unit": lot.unit,
        }
        if lot.expiry is not None:  # absent, not null: the file format has no null
            entry["expiry"] = lot.expiry.isoformat()
        lots.append(entry)
    return {
        "shipment_id": shipment.shipment_id,
        "reference": shipment.reference,
        "cargo": shipment.cargo,
        "truck_id": shipment.truck_id,
        "probes": list(shipment.probes),
        "shipper": {"id": shipment.shipper.org_id, "name": shipment.shipper.name},
        "receiver": {"id": shipment.receiver.org_id, "name": shipment.receiver.name},
        "lots": lots,
        "stops": [_stop_document(stop) for stop in shipment.stops],
    }


# ---- overrides -------------------------------------------------------------------------------


def stop_indexes(shipment: Shipment, stage: Stage) -> range:
    """The stop indexes that fit ``stage`` on this shipment (the ``Stage`` docstring)."""
    last = len(shipment.stops) - 1
    return {
        "planned": range(0, 1),
        "at_origin": range(0, 1),
        "in_transit": range(0, last),  # the stop it last left: never the destination
        "at_stop": range(1, last),  # a drop
        "at_destination": range(last, last + 1),
        "delivered": range(last, last + 1),
    }[stage]


def stop_index_for(shipment: Shipment, stage: Stage) -> int | None:
    """The stop index a stage implies when only one fits (None: it must be given)."""
    fits = stop_indexes(shipment, stage)
    return fits[0] if len(fits) == 1 else None


def check_override(shipment: Shipment, override: StageOverride) -> None:
    """Refuse an override whose stage and stop index do not fit the shipment's stops."""
    if override.stage not in STAGES:
        raise ShipmentError("stage", f"{override.stage!r} is not a stage; use {', '.join(STAGES)}")
    allowed = stop_indexes(shipment, override.stage)
    index = override.stop_index
    if not allowed:
        raise ShipmentError("stage", f"{override.stage!r}: the shipment has no drops; use another")
    if index not in allowed:
        fits = str(allowed[0]) if len(allowed) == 1 else f"{allowed[0]} to {allowed[-1]}"
        raise ShipmentError(
            "stop_index",
            f"{index} does not fit stage {override.stage!r} on {len(shipment.stops)} stops; "
            f"give {fits}",
        )
    if not override.reason.strip():
        raise ShipmentError("reason", "missing; say why the stage is set by hand")
    if not override.by.strip():
        raise ShipmentError("by", "missing; name who set the stage")
    if override.at.tzinfo is None or override.at.utcoffset() is None:
        raise ShipmentError("at", "has no UTC offset; give an aware datetime")


# ---- the record ------------------------------------------------------------------------------


def override_document(override: StageOverride) -> dict[str, Any]:
    return {
        "stage": override.stage,
        "stop_index": override.stop_index,
        "by": override.by,
        "at": override.at.isoformat(),
        "reason": override.reason,
    }


def record_document(record: ShipmentRecord) -> dict[str, Any]:
    """The record as the JSON object :func:`encode_record` writes."""
    return {
        "shipment": to_document(record.shipment),
        "status": record.status,
        "version": record.version,
        "updated_at": record.updated_at.isoformat(),
        "override": None if record.override is None else override_document(record.override),
        "pods": [pod_document(pod) for pod in record.pods],
    }


def encode_record(record: ShipmentRecord) -> bytes:
    """The record as UTF-8 JSON (the value on the ``shipments`` topic)."""
    return json.dumps(record_document(record), ensure_ascii=False, separators=(",", ":")).encode()


def _aware(value: Any, where: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None and parsed.utcoffset() is not None:
                return parsed
    raise ShipmentError(where, f"{value!r} is not an ISO 8601 datetime with a UTC offset")


def _field(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        what = {int: "an integer", str: "a string"}.get(kind, kind.__name__)
        raise ShipmentError(f"{where}.{key}", f"missing or not {what}")
    return value


def _decode_override(value: Any, shipment: Shipment) -> StageOverride | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ShipmentError("record.override", "must be an object or null")
    stage = _field(value, "stage", str, "record.override")
    if stage not in STAGES:
        raise ShipmentError("record.override.stage", f"{stage!r} is not a stage")
    override = StageOverride(
        stage=stage,
        stop_index=_field(value, "stop_index", int, "record.override"),
        by=_field(value, "by", str, "record.override"),
        at=_aware(value.get("at"), "record.override.at"),
        reason=_field(value, "reason", str, "record.override"),
    )
    try:
        check_override(shipment, override)
    except ShipmentError as exc:
        raise ShipmentError(f"record.override.{exc.field}", exc.fix) from exc
    return override


def decode_record(raw: bytes, registry: Registry) -> ShipmentRecord:
    """The record in ``raw``; ``ShipmentError`` (field path first) when it is not one."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShipmentError("record", f"is not UTF-8 JSON ({exc})") from exc
    return record_from_document(data, registry)


def record_from_document(data: Any, registry: Registry) -> ShipmentRecord:
    """The record in a decoded JSON object (:func:`record_document`'s shape), validated."""
    if not isinstance(data, Mapping):
        raise ShipmentError("record", "must be a JSON object")
    unknown = sorted(
        set(data) - {"shipment", "status", "version", "updated_at", "override", "pods"}
    )
    if unknown:
        raise ShipmentError(f"record.{unknown[0]}", "unknown field")
    document = data.get("shipment")
    if not isinstance(document, Mapping):
        raise ShipmentError("record.shipment", "missing or not an object")
    try:
        shipment = parse_shipment(document, registry)
    except ShipmentError as exc:
        raise ShipmentError(f"record.shipment.{exc.field}", exc.fix) from exc
    status = data.get("status")
    if status not in STATUSES:
        raise ShipmentError("record.status", f"{status!r} is not one of {', '.join(STATUSES)}")
    version = _field(data, "version", int, "record")
    if version < 1:
        raise ShipmentError("record.version", f"{version} is not 1 or more")
    return ShipmentRecord(
        shipment=shipment,
        status=status,
        version=version,
        updated_at=_aware(data.get("updated_at"), "record.updated_at"),
        override=_decode_override(data.get("override"), shipment),
        pods=_decode_pods(data.get("pods"), shipment),
    )


def _decode_pods(value: Any, shipment: Shipment) -> tuple[ProofOfDelivery, ...]:
    if value is None:  # a record from before proof of delivery
        return ()
    if not isinstance(value, list):
        raise ShipmentError("record.pods", "must be a list (or absent)")
    pods = tuple(pod_from_document(item, f"record.pods[{i}]") for i, item in enumerate(value))
    check_pods_fit(shipment, pods, "record.pods")
    return pods
