"""Migrations on a real PostgreSQL: concurrent runners, a second database, re-runs."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from logistream.config import Settings
from logistream.schema.migrate import migrate, shipped_migrations


def _versions(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()


def test_runners_starting_together_apply_each_migration_once(settings: Settings) -> None:
    assert settings.database_url
    url = settings.database_url
    results: list[object] = []

    def run() -> None:
        try:
            results.append(len(migrate(settings, url)))
        except Exception as error:  # collected: a thread's failure must fail the test
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    shipped = shipped_migrations()
    assert sorted(results, key=str) == sorted([0, 0, 0, len(shipped)], key=str)
    assert _versions(url) == [(m.version, m.name) for m in shipped]
    # Again: nothing to do, and the roles (cluster-wide, already there) are fine.
    assert migrate(settings, url) == []
    with psycopg.connect(url) as conn:
        roles = conn.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'logistream\\_%' "
            "ORDER BY rolname"
        ).fetchall()
        assert ("logistream_bridge", True) in roles
        assert ("logistream_reader", True) in roles
        partitions = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass"
        ).fetchone()
        assert partitions is not None
        assert partitions[0] >= 9, "yesterday to a week ahead, created ahead of time"
