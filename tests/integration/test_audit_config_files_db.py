"""record_config_files on a real PostgreSQL: the first start records each file, a start with
the same files records nothing, a changed rules file is recorded once with the digest before
and after, and the chain stays intact."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.audit.config_files import record_config_files
from logistream.audit.trail import Actor
from logistream.audit.verify import verify


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


SPEED = Actor("speed", "service")
BATCH = Actor("bridge", "service")


def test_changed_files_are_recorded_once(audit_db: AuditDb) -> None:
    rules_v1, rules_v2, cargo = b"high = 8.0\n", b"high = 7.5\n", b"[vaccines]\n"
    files = {"/reg/rules.toml": rules_v1, "/reg/cargo.toml": cargo}
    with audit_db.connect() as conn:
        assert record_config_files(conn, SPEED, files) == [1, 2]
        assert record_config_files(conn, BATCH, files) == []
        assert record_config_files(conn, SPEED, {**files, "/reg/rules.toml": rules_v2}) == [3]
        assert record_config_files(conn, BATCH, {**files, "/reg/rules.toml": rules_v2}) == []
        rows = conn.execute(
            "SELECT seq, actor, action, subject_kind, subject_id, before, after FROM audit_log"
            " ORDER BY seq"
        ).fetchall()
        assert verify(conn).broken is None
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("rules_file_changed", "cargo_profiles", "cargo.toml"),
        ("rules_file_changed", "rules_file", "rules.toml"),
        ("rules_file_changed", "rules_file", "rules.toml"),
    ]
    v1 = {"sha256": hashlib.sha256(rules_v1).hexdigest(), "path": "/reg/rules.toml"}
    v2 = {"sha256": hashlib.sha256(rules_v2).hexdigest(), "path": "/reg/rules.toml"}
    assert (rows[1][5], rows[1][6]) == (None, v1)
    assert (rows[2][1], rows[2][5], rows[2][6]) == ("speed", v1, v2)


def test_in_the_callers_transaction_a_rollback_records_nothing(audit_db: AuditDb) -> None:
    with audit_db.connect() as conn:
        conn.autocommit = False
        record_config_files(conn, SPEED, {"/reg/rules.toml": b"x"})
        conn.rollback()
        assert record_config_files(conn, SPEED, {"/reg/rules.toml": b"x"}) == [1]
        conn.commit()
