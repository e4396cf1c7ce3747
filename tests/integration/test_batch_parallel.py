"""The pass in slices on several connections gives exactly the views of the serial pass."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from tests.helpers import seeded_random
from tests.integration.batch_support import Row, apply_schema, fetch, insert_readings
from tests.integration.batch_support import made_up_trip as trip
from tests.integration.test_batch_views import REGISTRY, snapshot

from logistream.batch.views import recompute as rc
from logistream.batch.views import slicing
from logistream.config import Settings


def test_parallel_slices_give_the_serial_views(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("batch-parallel")
    start = datetime(2025, 3, 3, 20, 0, tzinfo=UTC).timestamp()  # crosses midnight UTC
    rows: list[Row] = []
    for i, (truck, cargo) in enumerate(
        [("KBX 123A", "vaccines"), ("KCA 452B", "frozen"), ("KCE 564E", "milk"), ("ZZZ 1", "x")]
    ):
        rows += trip(
            rng,
            truck_id=truck,
            trip_id=f"T{i}",
            cargo=cargo,
            start=start + i * 900,
            hours=3.0,
            step_s=30.0,
            excursion=(1.0, 2.0, 10.5 if cargo != "frozen" else -10.0),
        )
    rows += [Row(t=start + i * 600, truck_id="OLD-1", temp=4.0 + (i % 5)) for i in range(30)]
    insert_readings(url, rows)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE readings")

    with psycopg.connect(url) as conn:
        serial = rc.recompute(conn, REGISTRY)
    want = snapshot(url)
    assert serial.trips == 6

    # A tiny slice size: several slices per connection, some of them empty.
    monkeypatch.setattr(slicing, "ROWS_PER_SLICE", 200)
    steps: list[str] = []
    with psycopg.connect(url) as conn:
        parallel = rc.recompute(
            conn, REGISTRY, workers=2, progress=lambda step, _s: steps.append(step)
        )
    print("\n".join(steps))
    assert parallel.trips == serial.trips
    assert snapshot(url) == want
    assert sum(1 for s in steps if "slice" in s) >= 4
    assert steps[-1] == "committed: 6 trips"
    # A range, in parallel, recomputes the trips it touches, whole: nothing changes.
    with psycopg.connect(url) as conn:
        rc.recompute(
            conn,
            REGISTRY,
            rc.Scope(start=datetime(2025, 3, 4, tzinfo=UTC), end=datetime(2025, 3, 5, tzinfo=UTC)),
            workers=2,
        )
    assert snapshot(url) == want
    assert fetch(url, "SELECT count(*) FROM batch_stage_trips") == [(0,)]
    assert fetch(url, "SELECT count(*) FROM batch_runs") == [(3,)]
