"""Moved to :mod:`logistream.coldchain.excursions` (layer-free, so the shipments side computes
with the same maths); re-exported here for the batch layer's existing imports."""

from logistream.coldchain.excursions import (
    Classified,
    Excursion,
    Kind,
    Sample,
    SensorFault,
    classify,
    extract,
    ordered,
    plausible_at,
    sensor_faults,
    tor_alarm_at,
)

__all__ = [
    "Classified",
    "Excursion",
    "Kind",
    "Sample",
    "SensorFault",
    "classify",
    "extract",
    "ordered",
    "plausible_at",
    "sensor_faults",
    "tor_alarm_at",
]
