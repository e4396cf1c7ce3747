"""A held alarm in the archive: a ``suppressed`` change (an alarm held during an operating mode)
is listed with the trip it was held in, and is never carried over as open into the next trip
(``reads.views.OPEN_DURING``: it has no resolution, and needs none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from tests.integration.batch_support import apply_schema

from logistream.config import Settings
from logistream.reads import views

TRUCK = "KCB 781C"
TRIP_1, TRIP_2 = "KCB781C-1", "KCB781C-2"
START_1 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
START_2 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _change(
    conn: psycopg.Connection[Any], alert_id: str, state: str, at: datetime, trip_id: str
) -> None:
    conn.execute(
        "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
        "severity, opened_at, message, payload, source_partition, source_offset) "
        "VALUES (%s, %s, %s, %s, %s, 'temp_high', 'major', %s, %s, '{}', 0, 0)",
        [alert_id, state, at, TRUCK, trip_id, at, f"message of {alert_id}"],
    )


def test_a_held_alarm_belongs_to_its_trip_and_is_not_carried_over(settings: Settings) -> None:
    assert settings.database_url
    apply_schema(settings)
    held_at = START_1 + timedelta(hours=1)
    with psycopg.connect(settings.database_url) as conn:
        _change(conn, "would-be:held:m-1", "suppressed", held_at, TRIP_1)
        # A real alert never resolved, for comparison: carried over into trip 2.
        _change(conn, "real", "open", held_at, TRIP_1)
    with psycopg.connect(settings.database_url) as conn:
        first = views.trip_alerts(conn, TRUCK, TRIP_1, START_1, START_1 + timedelta(hours=6))
        second = views.trip_alerts(conn, TRUCK, TRIP_2, START_2, START_2 + timedelta(hours=5))
    assert sorted(r["alert_id"] for r in first) == ["real", "would-be:held:m-1"]
    assert [r["alert_id"] for r in second] == ["real"]
