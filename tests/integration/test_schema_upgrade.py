"""An archive migrated and filled by an earlier release is brought up to date in place.

The released migrations (pinned by name and checksum in tests/unit/test_schema_old_layout.py)
are applied first, as the old layout did, and readings archived the old way, including the
defect the event-id registry fixes (one event id archived twice, at two event times). Then the
current runner migrates: it applies only what is newer, and the registry it adds holds every
archived event id once, the first copy archived.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from tests.unit.test_schema_old_layout import RELEASED

from logistream.config import Settings
from logistream.schema.migrate import apply_migrations, migrate, shipped_migrations

DAY_ONE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY_TWO = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def _archive(conn: psycopg.Connection[tuple[object, ...]], rows: list[tuple[object, ...]]) -> None:
    for event_id, at, offset in rows:
        conn.execute("SELECT ensure_reading_partition(%s::date)", [at])
        conn.execute(
            "INSERT INTO readings (event_id, event_time, truck_id, temp, source_partition, "
            "source_offset) VALUES (%s, %s, 'KBX 101A', 5.0, 0, %s)",
            [event_id, at, offset],
        )


def test_an_archive_of_the_released_schema_migrates_in_place(settings: Settings) -> None:
    assert settings.database_url
    released = [m for m in shipped_migrations() if m.version in RELEASED]
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        assert [m.version for m in apply_migrations(conn, released)] == sorted(RELEASED)
        # The old bridge archived a re-send with another timestamp as a second row.
        _archive(conn, [("e-1", DAY_ONE, 1), ("e-2", DAY_ONE, 2), ("e-1", DAY_TWO, 3)])

    applied = migrate(settings, settings.database_url)

    newer = {m.version for m in shipped_migrations()} - set(RELEASED)
    assert {m.version for m in applied} == newer
    assert migrate(settings, settings.database_url) == []
    with psycopg.connect(settings.database_url) as conn:
        registered = conn.execute(
            "SELECT event_id, event_time FROM reading_ids ORDER BY event_id"
        ).fetchall()
        kept = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert registered == [("e-1", DAY_ONE), ("e-2", DAY_ONE)]
    assert kept == (3,), "the archive is append-only: the migration deletes nothing"
