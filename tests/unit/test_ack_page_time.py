"""The acknowledgement page shows the alert's opening time in the display zone, like the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from logistream.api.ack_links import _describe
from logistream.events import Alert

OPENED = datetime(2025, 3, 3, 5, 0, tzinfo=UTC).timestamp()


def _alert() -> Alert:
    return Alert(
        alert_id="a",
        truck_id="KBX 123A",
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=OPENED,
        changed_at=OPENED,
        message="KBX 123A at 9.1 °C",
    )


def test_the_opening_time_is_in_the_display_zone() -> None:
    assert "Opened: 2025-03-03 08:00 EAT" in _describe(_alert(), "Africa/Nairobi")
    assert "Opened: 2025-03-03 10:30 IST" in _describe(_alert(), "Asia/Kolkata")
