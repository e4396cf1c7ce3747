"""Operating modes in the trip compliance figures, on a real PostgreSQL: the time out of range
inside a mode in force stays counted (tor_s, excursions, verdict unchanged) and is stated apart
(``mode_tor_s``, and a clause of the reason); a refused mode counts for nothing."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, fetch, insert_readings, made_up_trip
from tests.integration.test_modes_reconcile import REGISTRY, add_mode

from logistream.batch.views.recompute import recompute
from logistream.config import Settings
from logistream.reads.views import trip_compliance


def _compliance(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        recompute(conn, REGISTRY, None)
    (row,) = fetch(
        url,
        "SELECT trip_id, tor_s, mode_tor_s, excursions, verdict, reason FROM trip_compliance",
    )
    return row


def test_time_out_of_range_inside_a_mode_is_counted_and_stated_apart(
    settings: Settings,
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rows = made_up_trip(
        seeded_random("modes-compliance"),
        step_s=30.0,
        theft=None,
        refuel=None,
        defrost=None,
        excursion=(1.0, 2.5, 13.0),
    )
    insert_readings(url, rows)
    add_mode(url, "m-refused", start_h=0.0, end_h=6.0, status="refused", version=0)
    trip_id, tor_s, mode_tor_s, excursions, verdict, reason = _compliance(url)
    assert mode_tor_s == 0.0
    assert "operating modes" not in reason
    assert tor_s > 3600

    # A washout from 0.5 h, ended early at 1.8 h: the excursion's first 0.8 h is inside it.
    add_mode(url, "m-wash", start_h=0.5, end_h=6.0, ended_h=1.8, status="ended", version=2)
    _, tor_after, mode_after, excursions_after, verdict_after, reason_after = _compliance(url)
    assert (tor_after, excursions_after, verdict_after) == (tor_s, excursions, verdict)
    # Computed here from the readings: each one above 8 °C inside the mode stands for the time
    # to the next reading.
    begin, end = rows[0].t + 0.5 * 3600, rows[0].t + 1.8 * 3600
    expected = sum(b.t - a.t for a, b in pairwise(rows) if a.temp > 8.0 and begin <= a.t < end)
    assert expected > 1800
    assert abs(mode_after - expected) < 1.0, (mode_after, expected)
    assert reason_after.startswith(reason)
    assert reason_after.endswith(
        f"; {round(mode_after / 60, 1)} min of the time out of range was inside operating "
        "modes (alarms held), counted all the same"
    )
    # The trip report reads it with the rest of the row.
    with psycopg.connect(url) as conn:
        assert trip_compliance(conn, "KBX 123A", trip_id)["mode_tor_s"] == mode_after
