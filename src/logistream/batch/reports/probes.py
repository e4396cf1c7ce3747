"""The trip report's "Probes and calibration": each temperature probe of the truck (devices.toml)
with its calibration record, and whether its calibration was overdue during the trip (due on or
before the trip's last day): a reading of an overdue probe is still kept, but an auditor must see
that it came from an instrument out of calibration. Beside each record, when the trip's readings
name probes, that probe's own compliance (readings, MKT, time out of range, excursions, verdict:
``probe_compliance``); a probe that read during the trip but has no record in the registry is
listed too, with no calibration record. A trip of a single unnamed probe gets no figures here
(the report's summary is that probe's). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from logistream.registry.models import Registry

FIGURES = (
    "readings",
    "mkt_c",
    "mean_c",
    "min_c",
    "max_c",
    "tor_s",
    "tor_budget_s",
    "excursions",
    "verdict",
    "reason",
)
"""The compliance figures a probe's record carries (from its ``probe_compliance`` row)."""


def probe_records(
    registry: Registry,
    truck_id: str,
    trip_end: datetime,
    compliance: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One JSON-ready record per probe, with its figures from ``compliance`` (rows of
    ``probe_compliance``) when there are any; empty when the truck has no device in the
    registry and its readings name no probe."""
    figures = {str(row["probe_id"]): row for row in compliance}
    records = _calibration_records(registry, truck_id, trip_end)
    known = {r["probe_id"] or "" for r in records}
    # A probe that read but is not (or no longer) in the registry: its figures, no record.
    for probe_id in sorted(set(figures) - known):
        records.append(
            {
                "probe_id": probe_id,
                "position": "unregistered",
                "device_id": None,
                "device_model": None,
                "offset_c": None,
                "certificate": None,
                "calibrated": None,
                "due": None,
                "overdue": False,
            }
        )
    if figures:
        for record in records:
            row = figures.get(record["probe_id"] or "")
            record.update({k: row.get(k) if row else None for k in FIGURES})
    return records


def _calibration_records(
    registry: Registry, truck_id: str, trip_end: datetime
) -> list[dict[str, Any]]:
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
