"""A shipment record as the API's JSON (``/v1/shipments``): plain dicts from the store's records,
with the live views' state and each PoD's stored temperature summary. Times are epoch seconds."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from logistream.live_views import ShipmentLive
from logistream.shipments.wire import ShipmentRecord, to_document

if TYPE_CHECKING:
    from logistream.shipments.store import ShipmentChange, ShipmentStore


def _stamp(when: datetime) -> float:
    return when.timestamp()


def _override(record: ShipmentRecord) -> dict[str, Any] | None:
    o = record.override
    if o is None:
        return None
    return {"stage": o.stage, "stop": o.stop_index, "by": o.by, "at": _stamp(o.at),
            "reason": o.reason}  # fmt: skip


def _live(found: ShipmentLive | None) -> dict[str, Any] | None:
    return None if found is None else msgspec.to_builtins(found)


def summary_dict(
    record: ShipmentRecord, created_at: datetime, live: ShipmentLive | None
) -> dict[str, Any]:
    s = record.shipment
    return {
        "shipment_id": s.shipment_id,
        "reference": s.reference,
        "shipper": {"id": s.shipper.org_id, "name": s.shipper.name},
        "receiver": {"id": s.receiver.org_id, "name": s.receiver.name},
        "cargo": s.cargo,
        "truck_id": s.truck_id,
        "status": record.status,
        "version": record.version,
        "created_at": _stamp(created_at),
        "updated_at": _stamp(record.updated_at),
        "override": _override(record),
        "live": _live(live),
    }


def pod_dicts(store: ShipmentStore, record: ShipmentRecord) -> list[dict[str, Any]]:
    """The record's PoDs, each with the lot's temperature summary stored when it was signed."""
    shipment_id, stops = record.shipment.shipment_id, record.shipment.stops
    return [
        {
            "stop": pod.stop_index,
            "stop_id": stops[pod.stop_index].stop_id,
            "lot": pod.lot,
            "decision": pod.decision,
            "by": pod.by,
            "name": pod.name,
            "at": _stamp(pod.at),
            "note": pod.note,
            "temperature": store.pod_temperature(shipment_id, pod.lot),
        }
        for pod in record.pods
    ]


def record_dict(
    record: ShipmentRecord,
    changes: list[ShipmentChange],
    live: ShipmentLive | None,
    pods: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    created = next((c.at for c in changes if c.change == "created"), record.updated_at)
    return {
        "shipment_id": record.shipment.shipment_id,
        "status": record.status,
        "version": record.version,
        "created_at": _stamp(created),
        "updated_at": _stamp(record.updated_at),
        "override": _override(record),
        "document": to_document(record.shipment),
        "changes": [
            {
                "version": c.version,
                "change": c.change,
                "by": c.by,
                "at": _stamp(c.at),
                "reason": c.reason,
                "detail": c.detail,
            }
            for c in changes
        ],
        "pods": pods or [],
        "live": _live(live),
    }
