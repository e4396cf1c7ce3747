"""``logistream audit verify`` and ``audit list`` on a real PostgreSQL: an intact log passes
(exit 0, row count and last hash), a row altered by the superuser with triggers skipped
(``session_replication_role = replica``) is named as altered, a deleted row (a seq gap, and a
deletion with the later rows renumbered) as deleted, each with exit 1 and one line; ``list``
filters and shows times in the display zone."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.audit.trail import Actor, record
from logistream.audit.verify import verify
from logistream.config import child_env


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


def _fill(db: AuditDb, n: int = 10) -> None:
    with db.connect() as conn:
        for i in range(1, n + 1):
            record(
                conn,
                Actor("alice" if i % 2 else "erp-link", "dashboard" if i % 2 else "api"),
                action="cancel" if i % 3 == 0 else "create",
                subject_kind="shipment",
                subject_id=f"S-{i}",
                before=None if i % 3 else {"status": "active"},
                after={"status": "cancelled" if i % 3 == 0 else "active", "i": i},
                reason="asked by the shipper" if i % 3 == 0 else None,
            )


def _tamper(db: AuditDb, *statements: str) -> None:
    """As the superuser with triggers skipped: how someone would get round the append-only
    trigger."""
    with db.connect() as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def _cli(db: AuditDb, *args: str) -> subprocess.CompletedProcess[str]:
    env = child_env(db.settings)
    env["LOGISTREAM_TIMEZONE"] = "Africa/Nairobi"
    return subprocess.run(
        [sys.executable, "-m", "logistream", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _verify(db: AuditDb) -> Any:
    with db.connect(db.reader_url) as conn:
        return verify(conn)


def test_an_intact_log_passes(audit_db: AuditDb) -> None:
    _fill(audit_db)
    result = _verify(audit_db)
    assert (result.rows, result.last_seq, result.broken) == (10, 10, None)
    done = _cli(audit_db, "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"audit log intact: 10 rows, last hash {result.last_hash}"


def test_an_empty_log_passes(audit_db: AuditDb) -> None:
    done = _cli(audit_db, "verify")
    assert (done.returncode, done.stdout.strip()) == (
        0,
        "audit log intact: 0 rows, last hash " + "0" * 64,
    )


def test_a_row_altered_with_triggers_skipped_is_found(audit_db: AuditDb) -> None:
    _fill(audit_db)
    _tamper(audit_db, 'UPDATE audit_log SET after = \'{"status": "active", "i": 6}\' WHERE seq = 6')
    result = _verify(audit_db)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind, result.rows) == (6, "altered", 5)
    done = _cli(audit_db, "verify")
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("audit log altered at seq 6: its hash does not match its content")


def test_a_row_altered_with_its_hash_recomputed_breaks_the_next_link(audit_db: AuditDb) -> None:
    _fill(audit_db)
    _tamper(audit_db, "UPDATE audit_log SET row_hash = repeat('a', 64) WHERE seq = 4")
    result = _verify(audit_db)
    assert result.broken is not None
    # seq 4's own content no longer gives its hash: found at 4 already.
    assert (result.broken.seq, result.broken.kind) == (4, "altered")


def test_a_deleted_row_is_found(audit_db: AuditDb) -> None:
    _fill(audit_db)
    _tamper(audit_db, "DELETE FROM audit_log WHERE seq = 7")
    done = _cli(audit_db, "verify")
    assert done.returncode == 1
    assert done.stdout.strip().startswith("audit log deleted at seq 8: seq 7 missing before it")


def test_a_deleted_first_row_is_found(audit_db: AuditDb) -> None:
    _fill(audit_db)
    _tamper(audit_db, "DELETE FROM audit_log WHERE seq = 1")
    result = _verify(audit_db)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (2, "deleted")


def test_a_deletion_with_later_rows_renumbered_is_found(audit_db: AuditDb) -> None:
    _fill(audit_db)
    _tamper(
        audit_db,
        "DELETE FROM audit_log WHERE seq = 5",
        "UPDATE audit_log SET seq = seq - 1 WHERE seq > 5",
    )
    result = _verify(audit_db)
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind) == (5, "deleted")
    assert "prev_hash does not match seq 4's hash" in result.broken.detail


def test_list_filters_and_shows_display_times(audit_db: AuditDb) -> None:
    _fill(audit_db)
    done = _cli(audit_db, "list", "--actor", "alice", "--limit", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("audit log, newest first; times in Africa/Nairobi (EAT")
    assert [line.split()[0] for line in lines[1:]] == ["#9", "#7"]
    assert ' EAT alice (dashboard) create shipment S-7: — -> {"i":7,"status":"active"}' in lines[2]
    done = _cli(audit_db, "list", "--subject", "S-6")
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].endswith("(asked by the shipper)")
    assert '{"status":"active"} -> {"i":6,"status":"cancelled"}' in lines[1]
    done = _cli(audit_db, "list", "--since", "2999-01-01")
    assert done.stdout.strip().splitlines()[1:] == ["no audit rows match"]
    done = _cli(audit_db, "list", "--kind", "shipment", "--since", "2020-01-01", "--limit", "100")
    assert len(done.stdout.strip().splitlines()) == 11


def test_reading_needs_no_more_than_the_reader(audit_db: AuditDb) -> None:
    _fill(audit_db, 3)
    with psycopg.connect(audit_db.reader_url) as conn:  # not autocommit: verify opens its own
        assert verify(conn).rows == 3
