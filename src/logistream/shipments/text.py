"""Shipments as people read them in a terminal: the summary of one (``logistream shipments
show``) and the table of many (``list``). Pure: records in, lines out, times in the display zone.
"""

from __future__ import annotations

from collections.abc import Sequence

from logistream.display_time import in_zone, show
from logistream.shipments.model import Stop
from logistream.shipments.store import ShipmentChange
from logistream.shipments.wire import ShipmentRecord


def _quantity(value: float) -> str:
    return f"{value:g}"


def _window(stop: Stop, timezone: str) -> str:
    start = in_zone(stop.window_start, timezone)
    end = in_zone(stop.window_end, timezone)
    # One day: "2026-12-08 13:00–14:30 EAT"; across midnight both ends are dated.
    tail = (
        end.strftime("%H:%M %Z")
        if start.date() == end.date()
        else show(end, timezone, seconds=False)
    )
    return f"{start.strftime('%Y-%m-%d %H:%M')}–{tail}"


def _fence(stop: Stop) -> str:
    fence = stop.geofence
    if fence.kind == "circle":
        lat, lon = fence.points[0]
        return f"circle {fence.radius_m:g} m around {lat:.5f}, {lon:.5f}"
    return f"polygon of {len(fence.points)} corners"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def summary(
    record: ShipmentRecord, timezone: str, changes: Sequence[ShipmentChange] = ()
) -> list[str]:
    """The shipment for people: reference, shipper → receiver, truck, status, lots, stops with
    their windows, the latest stage set by hand and the change log."""
    s = record.shipment
    probes = ", ".join(s.probes) if s.probes else "every probe of the truck"
    lines = [
        f"Shipment {s.shipment_id}  (reference {s.reference})",
        f"  {s.shipper.name} [{s.shipper.org_id}] → {s.receiver.name} [{s.receiver.org_id}]",
        f"  truck {s.truck_id} ({probes}), cargo profile {s.cargo}",
        f"  status {record.status}, version {record.version}, "
        f"updated {show(record.updated_at, timezone)}",
    ]
    if record.override is not None:
        o = record.override
        stop = s.stops[o.stop_index]
        lines.append(
            f"  stage set by hand: {o.stage} (stop {o.stop_index}, {stop.stop_id}) by {o.by} "
            f"at {show(o.at, timezone)}: {o.reason}"
        )
    lines += ["", f"Lots ({len(s.lots)})"]
    lot_rows = [("LOT", "PRODUCT", "QUANTITY", "EXPIRY")]
    lot_rows += [
        (
            lot.number,
            lot.product,
            f"{_quantity(lot.quantity)} {lot.unit}",
            "-" if lot.expiry is None else lot.expiry.isoformat(),
        )
        for lot in s.lots
    ]
    lines += [f"  {line}" for line in _table(lot_rows)]
    lines += ["", f"Stops ({len(s.stops)})"]
    stop_rows = [("#", "KIND", "STOP", "NAME", "PLANNED ARRIVAL", "DROPS", "GEOFENCE")]
    stop_rows += [
        (
            str(index),
            stop.kind,
            stop.stop_id,
            stop.name,
            _window(stop, timezone),
            ", ".join(stop.drops) or "-",
            _fence(stop),
        )
        for index, stop in enumerate(s.stops)
    ]
    lines += [f"  {line}" for line in _table(stop_rows)]
    if changes:
        lines += ["", "Changes"]
        for change in changes:
            why = f": {change.reason}" if change.reason else ""
            detail = ""
            if change.detail and "stage" in change.detail:
                detail = f" to {change.detail['stage']} (stop {change.detail.get('stop_index')})"
            lines.append(
                f"  v{change.version} {change.change.replace('_', ' ')}{detail} by {change.by} "
                f"at {show(change.at, timezone)}{why}"
            )
    return lines


def table(records: Sequence[ShipmentRecord], timezone: str) -> list[str]:
    """One line per shipment under a header: id, reference, shipper → receiver, truck, status,
    lots, stops, next planned window (the origin's), last update."""
    rows = [("SHIPMENT", "REFERENCE", "SHIPPER → RECEIVER", "TRUCK", "STATUS", "LOTS", "STOPS",
             "LOADING WINDOW", "UPDATED")]  # fmt: skip
    for record in records:
        s = record.shipment
        rows.append(
            (
                s.shipment_id,
                s.reference,
                f"{s.shipper.org_id} → {s.receiver.org_id}",
                s.truck_id,
                record.status,
                str(len(s.lots)),
                str(len(s.stops)),
                _window(s.stops[0], timezone),
                show(record.updated_at, timezone, seconds=False),
            )
        )
    return _table(rows)
