"""A trip report never waits on a batch run: it is issued while a recompute is held open.

A run in progress holds the batch lock and, once it replaces the views, the rows of every trip
it recomputes, for as long as it runs (minutes on a large archive). The report computes its
trip on its own and reads nothing that run has locked, so it is issued in seconds, and the
shared views stay as the last committed run left them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, fetch, insert_readings, made_up_trip

from logistream.batch.reports.trip import issue
from logistream.batch.views.recompute import recompute
from logistream.config import Settings
from logistream.registry import cached_registry

REGISTRY = cached_registry()
BOUND_S = 30.0
"""Generous: the report itself takes well under a second here."""


def test_trip_report_is_issued_while_a_recompute_is_held_open(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("report-never-waits")
    insert_readings(url, made_up_trip(rng, step_s=30.0, excursion=(1.0, 2.6, 11.0)))
    other = made_up_trip(rng, truck_id="KBY 456B", trip_id="KBY456B-1", step_s=60.0)
    insert_readings(url, other, first_offset=10_000)

    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY)
    committed = fetch(url, "SELECT truck_id, trip_id, verdict FROM trip_compliance ORDER BY 1")
    assert len(committed) == 2

    # A late reading for the first trip: the report must describe it (a new digest).
    late = made_up_trip(rng, step_s=30.0, hours=0.01, excursion=None)[:1]
    late[0].t += 6.5 * 3600
    late[0].event_id = "late-1"
    insert_readings(url, late, first_offset=20_000)

    outcome: dict[str, Any] = {}

    def report() -> None:
        started = time.monotonic()
        try:
            with psycopg.connect(url) as conn:
                outcome["content"] = issue(conn, REGISTRY, "KBX123A-1", "KBX 123A")
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started

    run = psycopg.connect(url)
    try:
        # A full run, recomputed and not yet committed: it holds the batch lock and the rows
        # of every trip's views, as a long run does for its whole last step.
        run.execute("BEGIN")
        recompute(run, REGISTRY)
        thread = threading.Thread(target=report, daemon=True)
        thread.start()
        thread.join(timeout=BOUND_S)
        assert not thread.is_alive(), f"the report waited on the run for over {BOUND_S:.0f} s"
    finally:
        run.rollback()
        run.close()
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    print(f"report issued in {outcome['seconds']:.2f} s while a run was held open")

    content = outcome["content"]
    assert content["version"] == 1
    assert content["verdict"] == "fail"  # the excursion's hour above 8 °C spends the budget
    archived = fetch(
        url,
        "SELECT count(*) FROM readings WHERE truck_id = 'KBX 123A' AND trip_id = 'KBX123A-1'",
    )
    assert content["readings"] == archived[0][0]  # the late reading included
    assert content["end_time"] >= "2025-03-03T11:30"  # the trip now ends at the late reading
    # The shared views are the last committed run's: the report wrote none of them.
    assert fetch(url, "SELECT truck_id, trip_id, verdict FROM trip_compliance ORDER BY 1") == (
        committed
    )
    (end,) = fetch(url, "SELECT end_time FROM trips WHERE trip_id = 'KBX123A-1'")[0]
    assert end.isoformat() < "2025-03-03T11:30"
    assert fetch(url, "SELECT count(*) FROM batch_runs") == [(1,)]
