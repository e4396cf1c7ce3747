"""The trip report's "Probes and calibration": each temperature probe of the truck (devices.toml)
with its calibration record, and whether its calibration was overdue during the trip (due on or
before the trip's last day): a reading of an overdue probe is still kept, but an auditor must see
that it came from an instrument out of calibration. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logistream.registry.models import Registry


def probe_records(registry: Registry, truck_id: str, trip_end: datetime) -> list[dict[str, Any]]:
    """One JSON-ready record per probe; empty when the truck has no device in the registry."""
    device = registry.devices.for_truck(truck_id)
    if device is None:
        return []
    on = trip_end.date()
    records = []
    for probe in device.probes:
        calibration = probe.calibration
        records.append(
            {
                "probe_id": probe.probe_id,
                "position": probe.position,
                "device_id": device.device_id,
                "device_model": device.model,
                "offset_c": probe.offset_c,
                "certificate": calibration.certificate if calibration else None,
                "calibrated": calibration.calibrated.isoformat() if calibration else None,
                "due": calibration.due.isoformat() if calibration else None,
                "overdue": probe.overdue(on),
            }
        )
    return records
