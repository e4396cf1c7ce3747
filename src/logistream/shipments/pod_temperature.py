"""The temperature summary of a lot up to its handover, as a proof of delivery keeps it.

The receiver signs knowing what the lot went through: its min, max, MKT, time out of range and
excursions from its loading to the signature. The carriage and its readings come from the
archive (``logistream.reads.shipment_readings.lot_readings``: the stages replayed from the
truck's positions, the shipment's probes), the figures from the one pure function the shipment
report uses (``logistream.shipments.lot_figures.analyse``), so the PoD and the report agree.
The summary is a JSON object (``pod.summary_document``), stored in ``shipment_pod.temperature``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from logistream.registry import Registry
from logistream.shipments.pod import summary_document

if TYPE_CHECKING:
    import psycopg

    from logistream.shipments.wire import ShipmentRecord


def lot_temperature(
    conn: psycopg.Connection[Any],
    record: ShipmentRecord,
    lot_number: str,
    until: datetime,
    registry: Registry,
) -> dict[str, Any]:
    """The lot's temperature summary from its loading to ``until`` (the signature's time), with
    the thresholds of the configured rules file (``LOGISTREAM_RULES_FILE``), as the report's."""
    from logistream.coldchain.params import params_from_rules
    from logistream.config import get_settings
    from logistream.reads.shipment_readings import lot_readings
    from logistream.registry.rules import load_rules_config
    from logistream.shipments.lot_figures import analyse

    params = params_from_rules(load_rules_config(get_settings().rules_file))
    carried = lot_readings(conn, record, lot_number, until)
    figures = analyse(
        lot_number,
        carried.readings,
        carried.start,
        carried.end,
        registry.profile_for(record.shipment.cargo),
        hold_max_s=params.hold_max_s,
        confirm_readings=params.critical_confirm_readings,
        confirm_s=params.critical_confirm_s,
        clear_s=params.critical_clear_s,
    ).figures
    return summary_document(figures)
