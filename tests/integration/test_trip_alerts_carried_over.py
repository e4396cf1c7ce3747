"""A trip's record lists every alert open at any time during it, carried-over ones included.

A truck ends trip 1 with an open ``temp_critical`` and an open ``temp_high`` and starts trip 2
with both still open; a QA manager acknowledges the critical one during trip 2. Both alerts
(and the acknowledgement, and who was told) belong in trip 2's report, PDF and Audits page, as
reconciliation matches them by time; an alert resolved before trip 2 began does not.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pypdf
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, insert_readings, made_up_trip

from logistream.batch.reports.render import render
from logistream.batch.reports.trip import issue
from logistream.batch.views.recompute import recompute
from logistream.config import Settings
from logistream.reads import tables
from logistream.registry import cached_registry

REGISTRY = cached_registry()
TRUCK = "KBX 123A"
TRIP_1, TRIP_2 = "KBX123A-1", "KBX123A-2"
START_1 = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)
START_2 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # trip 1 lasts 6 h: ends about 11:00


def _change(
    conn: psycopg.Connection[Any],
    alert_id: str,
    state: str,
    at: datetime,
    *,
    opened: datetime,
    rule: str,
    trip_id: str | None,
    truck_id: str = TRUCK,
    by: str | None = None,
    note: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO alert_changes (alert_id, state, changed_at, truck_id, trip_id, rule, "
        "severity, opened_at, message, acknowledged_by, ack_note, resolved_at, payload, "
        "source_partition, source_offset) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, '{}', 0, 0)",
        [
            alert_id,
            state,
            at,
            truck_id,
            trip_id,
            rule,
            "critical" if rule == "temp_critical" else "major",
            opened,
            f"message of {alert_id}",
            by,
            note,
            at if state == "resolved" else None,
        ],
    )


def _notification(conn: psycopg.Connection[Any], alert_id: str, opened: datetime) -> None:
    conn.execute(
        "INSERT INTO notifications (idempotency_key, kind, alert_id, alert_state, truck_id, "
        "trip_id, rule, severity, alert_opened_at, recipient, recipient_name, channel, address, "
        "subject, body, payload, status, attempts, sent_at) VALUES (%s, 'alert', %s, 'open', "
        "%s, %s, 'temp_critical', 'critical', %s, 'amina', 'Amina (QA)', 'email', 'x', 's', "
        "'b', '{}', 'sent', 1, now())",
        [f"k-{alert_id}", alert_id, TRUCK, TRIP_1, opened],
    )


def _alerts(conn: psycopg.Connection[Any]) -> None:
    crit_opened = START_1 + timedelta(hours=5, minutes=40)  # in trip 1, 20 min before its end
    high_opened = START_2 - timedelta(hours=2)
    old_opened = START_1 + timedelta(hours=1)
    # Carried over: opened in trip 1, still open when trip 2 starts (one never resolved).
    _change(conn, "crit", "open", crit_opened, opened=crit_opened, rule="temp_critical",
            trip_id=TRIP_1)  # fmt: skip
    _change(conn, "crit", "acknowledged", START_2 + timedelta(minutes=25), opened=crit_opened,
            rule="temp_critical", trip_id=TRIP_1, by="Dr. Wanjiru",
            note="reefer restarted at Mtito Andei")  # fmt: skip
    _change(conn, "high", "open", high_opened, opened=high_opened, rule="temp_high",
            trip_id=TRIP_1)  # fmt: skip
    _change(conn, "high", "resolved", START_2 + timedelta(hours=1), opened=high_opened,
            rule="temp_high", trip_id=TRIP_1)  # fmt: skip
    # Over before trip 2 began: trip 1's alone.
    _change(conn, "old", "open", old_opened, opened=old_opened, rule="temp_low", trip_id=TRIP_1)
    _change(conn, "old", "resolved", old_opened + timedelta(minutes=30), opened=old_opened,
            rule="temp_low", trip_id=TRIP_1)  # fmt: skip
    # Opened during trip 2 (as before the fix), and another truck's open alert (never listed).
    during = START_2 + timedelta(hours=2)
    _change(conn, "door", "open", during, opened=during, rule="door_open", trip_id=TRIP_2)
    _change(conn, "elsewhere", "open", crit_opened, opened=crit_opened, rule="temp_critical",
            trip_id="KBY456B-1", truck_id="KBY 456B")  # fmt: skip
    _notification(conn, "crit", crit_opened)


def _page_messages(conn: psycopg.Connection[Any], trip_id: str) -> set[str]:
    return {str(r["message"]) for r in tables.trip_alerts(conn, trip_id).records()}


def test_trip_record_lists_the_alerts_carried_over_from_the_previous_trip(
    settings: Settings,
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("trip-alerts-carried-over")
    first = made_up_trip(rng, trip_id=TRIP_1, start=START_1.timestamp(), step_s=60.0)
    second = made_up_trip(
        rng, trip_id=TRIP_2, start=START_2.timestamp(), hours=5.0, step_s=60.0, excursion=None
    )
    insert_readings(url, first)
    insert_readings(url, second, first_offset=len(first))
    with psycopg.connect(url) as conn:
        _alerts(conn)

    with psycopg.connect(url) as conn:
        # The Audits page before the batch layer has run (trip extent from the archive) ...
        expected_page = {"message of crit", "message of high", "message of door"}
        assert _page_messages(conn, TRIP_2) == expected_page
        recompute(conn, REGISTRY)
        # ... and after it (trip extent from the batch view).
        assert _page_messages(conn, TRIP_2) == expected_page
        assert _page_messages(conn, TRIP_1) == {
            "message of crit",
            "message of high",
            "message of old",
        }
        acked = [
            r for r in tables.trip_alerts(conn, TRIP_2).records() if r["state"] == "acknowledged"
        ]
        assert [(r["acknowledged_by"], r["ack_note"]) for r in acked] == [
            ("Dr. Wanjiru", "reefer restarted at Mtito Andei")
        ]

        report = issue(conn, REGISTRY, TRIP_2, TRUCK)
        earlier = issue(conn, REGISTRY, TRIP_1, TRUCK)

    alerts = {a["alert_id"]: a for a in report["alerts"]}
    assert set(alerts) == {"crit", "high", "door"}
    assert [(k["by"], k["note"]) for k in alerts["crit"]["acknowledgements"]] == [
        ("Dr. Wanjiru", "reefer restarted at Mtito Andei")
    ]
    assert alerts["crit"]["resolved_at"] is None
    assert alerts["high"]["resolved_at"] is not None
    assert {n["alert_id"] for n in report["notifications"]} == {"crit"}
    assert {a["alert_id"] for a in earlier["alerts"]} == {"crit", "high", "old"}
    assert {n["alert_id"] for n in earlier["notifications"]} == {"crit"}

    pdf = pypdf.PdfReader(io.BytesIO(render(report, "pdf")))
    text = " ".join(page.extract_text() for page in pdf.pages).replace("\n", " ")
    assert "temp_critical" in text
    assert "temp_high" in text
    assert "Dr. Wanjiru" in text
    assert "Amina (QA)" in text
