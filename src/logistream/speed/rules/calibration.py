"""A probe past its calibration due date: its readings are no longer traceable to a certificate.

Judged on each reading of a probe that has a calibration record in devices.toml: from the
start of its due day (in the display time zone, where people read the date) the probe's
``calibration_overdue`` alert is open; a reading after the registry gave it a later due date
(a new certificate) resolves it. Stateless: the alert lifecycle ignores a raise of an alert
already open and a clear of none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from logistream.events import Reading
from logistream.registry.devices import Calibration
from logistream.speed.rules.base import NO_VERDICTS, Clear, Raise, Verdict

RULE: Final = "calibration_overdue"


@dataclass(frozen=True, slots=True)
class ProbeCalibration:
    """What the rule needs of a probe's calibration record."""

    certificate: str
    due: date
    due_at: float
    """Unix time at which the probe becomes overdue: the start of ``due`` in the zone."""


def of_record(record: Calibration, zone: ZoneInfo) -> ProbeCalibration:
    start = datetime(record.due.year, record.due.month, record.due.day, tzinfo=zone)
    return ProbeCalibration(record.certificate, record.due, start.timestamp())


def step(reading: Reading, calibration: ProbeCalibration | None) -> tuple[Verdict, ...]:
    """Open the probe's alert once its calibration is due, resolve it once it is not."""
    if calibration is None:
        return NO_VERDICTS
    due = calibration.due.isoformat()
    if reading.timestamp >= calibration.due_at:
        return (
            Raise(
                RULE,
                reading.event_id or "",
                reading.timestamp,
                f"calibration overdue since {due} (certificate {calibration.certificate})",
                "its readings are not traceable until the probe is recalibrated",
            ),
        )
    return (Clear(RULE, reading.timestamp, f"calibration renewed, next due {due}"),)
