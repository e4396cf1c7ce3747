"""Who may change a shipment once it exists: the carrier, or the shipment's shipper.

Cancelling a shipment and setting its stage by hand change what the carrier does with the cargo,
so they belong to the party that ordered the carriage. A receiver is party to the shipment (it
reads it, signs for its lots: ``shipments.pod``) but does not call it off or move its stage;
another organisation does not see it at all (row-level security answers 404 before this rule is
asked). The API (403 ``not_shipper``) and the dashboard (the cancel and stage forms) ask this one
function.
"""

from __future__ import annotations

from logistream.reads.tenancy import is_carrier


def change_refusal(organisation: str | None, shipper_id: str, shipment_id: str) -> str | None:
    """Why ``organisation`` may not cancel the shipment or set its stage (None: it may).
    ``None`` is the carrier's own staff and systems."""
    if is_carrier(organisation) or organisation == shipper_id:
        return None
    return (
        f"{organisation} is not the shipper of {shipment_id} ({shipper_id}): its shipper or the "
        "carrier cancels it or sets its stage"
    )
