"""The Audits page lists failing trips first, then those to review, then the rest; newest first
within each (a quality manager opens the page to find what needs a decision)."""

from __future__ import annotations

import time

import psycopg

from logistream.config import Settings
from logistream.reads.tables import audit_trips
from logistream.schema.migrate import migrate

TRIPS = [  # trip, verdict, hours ago
    ("T-PASS-NEW", "pass", 1),
    ("T-REVIEW", "review", 5),
    ("T-FAIL-OLD", "fail", 30),
    ("T-PASS-OLD", "pass", 40),
    ("T-FAIL-NEW", "fail", 3),
]


def test_failing_trips_come_first(settings: Settings) -> None:
    assert settings.database_url
    migrate(settings, settings.database_url)
    now = time.time()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for trip, verdict, hours in TRIPS:
            start = now - hours * 3600
            conn.execute(
                "INSERT INTO trips (truck_id, trip_id, trip_id_sent, cargo, start_time, end_time, "
                "duration_s, distance_km, readings, gap_count, gap_s, longest_gap_s) VALUES "
                "('KBX 123A', %s, true, 'vaccines', to_timestamp(%s), to_timestamp(%s), 1800, "
                "40.0, 60, 0, 0, 0)",
                [trip, start, start + 1800],
            )
            conn.execute(
                "INSERT INTO trip_compliance (truck_id, trip_id, cargo, readings, min_c, max_c, "
                "mean_c, above_s, below_s, tor_s, tor_budget_s, defrost_s, covered_s, gap_s, "
                "mkt_c, activation_energy_kj_mol, hard_limit_passed, excursions, verdict, reason) "
                "VALUES ('KBX 123A', %s, 'vaccines', 60, 4, 6, 5, 0, 0, 0, 3600, 0, 1800, 0, 5, "
                "83.144, false, 0, %s, 'test')",
                [trip, verdict],
            )
        order = [r["trip_id"] for r in audit_trips(conn).records()]
    assert order == ["T-FAIL-NEW", "T-FAIL-OLD", "T-REVIEW", "T-PASS-NEW", "T-PASS-OLD"]
