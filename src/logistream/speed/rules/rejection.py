"""``lot_rejected`` (major): a receiver rejected a lot at its handover; the shipper must decide.

The proof of delivery reaches the speed layer on the ``shipments`` topic (the one writer of
alerts raises it). One alert per shipment names every lot rejected so far; a further rejection
on the same shipment resolves it and opens a new one naming them all. It resolves when the
truck's next shipment is the latest on the topic (the rejected lots are off the truck; the
shipment's record and report keep the rejection).
"""

from __future__ import annotations

from logistream.events import Alert
from logistream.shipments.wire import ShipmentRecord
from logistream.speed.alerts import alert_id_for
from logistream.speed.rules.base import Clear, Raise, Verdict

RULE = "lot_rejected"


def _opening(record: ShipmentRecord) -> str | None:
    """The alert's opening id for the record's rejections (None: none rejected)."""
    rejected = [p for p in record.pods if p.decision == "rejected"]
    if not rejected:
        return None
    return f"pod:{record.shipment.shipment_id}:{len(rejected)}"


def step(record: ShipmentRecord, open_alert: Alert | None, now: float) -> tuple[Verdict, ...]:
    """The verdicts when ``record`` is the truck's latest shipment record and ``open_alert`` its
    lot_rejected alert, if any."""
    shipment = record.shipment
    opening = _opening(record)
    if opening is None:
        if open_alert is None:
            return ()
        return (Clear(RULE, now, f"shipment {shipment.reference} has started"),)
    if open_alert is not None and open_alert.alert_id == alert_id_for(
        shipment.truck_id, RULE, opening
    ):
        return ()
    rejected = [p for p in record.pods if p.decision == "rejected"]
    last = max(rejected, key=lambda p: p.at)
    stop = shipment.stops[last.stop_index].name
    lots = ", ".join(p.lot for p in rejected)
    note = f": {last.note}" if last.note else ""
    raise_ = Raise(
        RULE,
        opening,
        last.at.timestamp(),
        f"lot {lots} of shipment {shipment.reference} rejected at {stop} by {last.name}{note}",
        f"{shipment.shipper.name} decides what becomes of it",
    )
    if open_alert is None:
        return (raise_,)
    return (Clear(RULE, now, "a further lot was rejected"), raise_)
