"""The Alerts page shows each alert's value and limit with their unit, never rounded onto it."""

from __future__ import annotations

import pytest

from logistream.events import RULE_NAMES, Alert
from logistream.serving.alerts_data import UNITS, value_text


def _alert(rule: str, value: float, threshold: float, message: str = "") -> Alert:
    return Alert(
        alert_id="a",
        truck_id="KBX 123A",
        rule=rule,
        severity="major",
        state="open",
        opened_at=0.0,
        changed_at=0.0,
        message=message,
        value=value,
        threshold=threshold,
    )


@pytest.mark.parametrize(
    ("rule", "value", "threshold", "message", "text"),
    [
        ("temp_critical", 12.01, 12.0, "", "12.01 °C (limit 12 °C)"),
        ("temp_high", 9.5, 8.0, "", "9.5 °C (limit 8 °C)"),
        ("tor_budget", 60.0, 60.0, "", "60 min (limit 60 min)"),
        ("sensor_offline", 10.0, 10.0, "", "10 min (limit 10 min)"),
        ("fuel_theft", 48.0, 20.0, "", "48 L (limit 20 L)"),
        ("speeding", 96.4, 80.0, "", "96.4 km/h (limit 80 km/h)"),
        ("door_open", 40.0, 5.0, "door open while moving at 40 km/h", "40 km/h (limit 5 km/h)"),
        ("door_open", 12.0, 10.0, "door open for 12 min", "12 min (limit 10 min)"),
    ],
)
def test_value_and_limit_carry_their_unit(
    rule: str, value: float, threshold: float, message: str, text: str
) -> None:
    assert value_text(_alert(rule, value, threshold, message)) == text


def test_every_rule_has_a_unit() -> None:
    # door_open: by its message; calibration_overdue has no value (its message gives the date),
    # nor has lot_rejected (its message names the lots).
    assert set(RULE_NAMES) - set(UNITS) == {"door_open", "calibration_overdue", "lot_rejected"}
