"""``logistream batch --changed`` (the demo's minute run) recomputes only the trips that changed.

The first such run covers everything and records its watermark; an hour later (readings and
the watermark moved back an hour) the next one takes them again (they were archived within the
watermark's margin) and moves the watermark past them; then late readings for one trip (before its
start and after its end) and a new trip make the next run recompute those two alone, and the
views it leaves are those a full recompute gives.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import apply_schema, fetch, insert_readings, made_up_trip

from logistream.batch.views.recompute import VIEW_TABLES
from logistream.config import Settings

LOGISTREAM = str(Path(sys.executable).with_name("logistream"))


def batch(env: dict[str, str], *args: str) -> int:
    """Run ``logistream batch``; the number of trips it recomputed."""
    done = subprocess.run(
        [LOGISTREAM, "batch", *args], env=env, capture_output=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    found = re.search(r"batch: (\d+) trips recomputed", done.stdout.decode())
    assert found, done.stdout.decode()
    return int(found.group(1))


def _rounded(value: Any) -> Any:
    # Sums over a trip may be added up in another order by another plan: last bits differ.
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def views(url: str) -> dict[str, list[str]]:
    """Every view table's rows (floats to 6 decimals), sorted."""
    return {
        table: sorted(
            json.dumps(_rounded(row), sort_keys=True)
            for (row,) in fetch(url, f"SELECT to_jsonb(t) FROM {table} t")
        )
        for table in (*VIEW_TABLES, "reconciliation")
    }


def test_changed_run_recomputes_only_the_changed_trip(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-changed")
    insert_readings(url, made_up_trip(rng, step_s=30.0, excursion=(1.0, 2.6, 11.0)))
    other = made_up_trip(rng, truck_id="KBY 456B", trip_id="KBY456B-1", step_s=60.0)
    insert_readings(url, other, first_offset=10_000)

    # No run has covered everything yet: the first is a full one, and records its watermark.
    assert batch(settings_env, "--changed") == 2
    ((watermark,),) = fetch(url, "SELECT archived_before FROM batch_runs")
    assert watermark is not None
    # A range run covers only part of the archive: it records none.
    assert batch(settings_env, "--from", "2025-03-03", "--to", "2025-03-04") == 2
    assert fetch(url, "SELECT count(archived_before) FROM batch_runs") == [(1,)]

    # An hour later, readings arrive for the first trip; the second trip is untouched.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE readings SET archived_at = archived_at - interval '1 hour'")
        conn.execute("UPDATE batch_runs SET archived_before = archived_before - interval '1 hour'")
    # They were archived within the margin before that run's watermark: taken once more.
    assert batch(settings_env, "--changed") == 2
    before = views(url)
    # Two late readings for the first trip, one after its end and one before its start (the
    # run must read back to it), and a new trip of a third truck.
    late = made_up_trip(rng, step_s=30.0, hours=0.01, excursion=None)[:1] * 2
    late[0] = replace(late[0], t=late[0].t + 6.5 * 3600, event_id="late-1")
    late[1] = replace(late[1], t=late[1].t - 0.5 * 3600, event_id="early-1")
    insert_readings(url, late, first_offset=20_000)
    new = made_up_trip(rng, truck_id="KBZ 789C", trip_id="KBZ789C-1", hours=1.0, step_s=60.0)
    insert_readings(url, new, first_offset=30_000)

    assert batch(settings_env, "--changed") == 2
    changed = views(url)
    trips = changed["trips"]
    assert trips != before["trips"]
    assert [row for row in trips if "KBY456B-1" in row] == [
        row for row in before["trips"] if "KBY456B-1" in row
    ]
    # Exactly what recomputing everything gives.
    assert batch(settings_env) == 3
    assert views(url) == changed
    # Serially too (one connection): the new readings are within the full run's margin.
    assert batch(settings_env, "--changed", "--workers", "1") == 2
    assert views(url) == changed
