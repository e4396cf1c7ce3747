"""A report version is stamped when it is committed: later versions have later stamps, and no
version holds a reading archived after its own issue time.

The issuer's connection is already in a transaction when it issues (as the CLI's is when it
looks the trip up first, or any caller that read before): meanwhile another issuer commits
version 1 and a late reading arrives. The version issued next must be stamped after both.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
from tests.helpers import seeded_random
from tests.integration.batch_support import Row, apply_schema, fetch, insert_readings, made_up_trip

from logistream.batch.reports.trip import issue
from logistream.config import Settings
from logistream.registry import cached_registry

REGISTRY = cached_registry()
TRUCK, TRIP = "KBX 123A", "KBX123A-1"


def test_later_versions_have_later_stamps(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    rng = seeded_random("report-version-stamps")
    # A trip that ended a few minutes ago, so its late reading can be one from just now.
    rows = made_up_trip(rng, start=time.time() - 6.2 * 3600, step_s=60.0)
    insert_readings(url, rows)

    with psycopg.connect(url) as early, psycopg.connect(url) as other:
        # The first issuer's transaction begins (it reads before it issues) ...
        early.execute("SELECT count(*) FROM readings WHERE truck_id = %s", [TRUCK])
        time.sleep(1.0)
        # ... meanwhile another issuer commits version 1 ...
        first = issue(other, REGISTRY, TRIP, TRUCK)
        assert first["version"] == 1
        time.sleep(1.0)
        # ... and the truck's spool uploads a reading from just now.
        late = Row(t=time.time() - 0.5, truck_id=TRUCK, temp=5.2, fuel=40.0, trip_id=TRIP)
        insert_readings(url, [late], first_offset=len(rows))
        second = issue(early, REGISTRY, TRIP, TRUCK)
        early.commit()

    assert second["version"] == 2
    stored = fetch(
        url,
        "SELECT version, issued_at FROM report_versions WHERE truck_id = %s AND trip_id = %s "
        "ORDER BY version",
        [TRUCK, TRIP],
    )
    print(stored)
    (_, issued_1), (_, issued_2) = stored
    assert issued_2 > issued_1, "version 2 is stamped before version 1"
    assert datetime.fromisoformat(second["issued_at"]) == issued_2
    assert datetime.fromisoformat(first["issued_at"]) == issued_1
    # Version 2 holds the late reading, archived before version 2 was issued.
    newest = max(p[0] for p in second["series"])
    assert abs(newest - late.t) < 0.001
    assert issued_2 > datetime.fromtimestamp(newest, UTC), (
        "version 2 holds a reading later than its own issue time"
    )
    assert [v["version"] for v in second["earlier_versions"]] == [1]
    assert all(
        datetime.fromisoformat(v["issued_at"]) < issued_2 for v in second["earlier_versions"]
    )
