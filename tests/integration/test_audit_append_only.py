"""audit_log is append-only for every role: UPDATE, DELETE and TRUNCATE are refused for the
owner's connection (the trigger: the owner here is a superuser, whom grants do not bind), the
bridge role and the reader role; the two service roles cannot INSERT either, the reader may
SELECT. The rows are all still there afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.audit.trail import Actor, record


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


STATEMENTS = {
    "UPDATE": "UPDATE audit_log SET reason = 'covered up' WHERE seq = 1",
    "DELETE": "DELETE FROM audit_log WHERE seq = 1",
    "TRUNCATE": "TRUNCATE audit_log",
}


def _fill(db: AuditDb) -> None:
    with db.connect() as conn:
        for i in range(3):
            record(
                conn,
                Actor("alice", "cli"),
                action="create",
                subject_kind="shipment",
                subject_id=f"S-{i}",
                before=None,
                after={"i": i},
            )


def _count(db: AuditDb) -> int:
    with db.connect() as conn:
        found = conn.execute("SELECT count(*), min(reason) FROM audit_log").fetchone()
    assert found is not None
    assert found[1] is None  # no reason was ever set: the UPDATE did not slip through
    return int(found[0])


@pytest.mark.parametrize("operation", sorted(STATEMENTS))
def test_owner_connection_is_refused_by_the_trigger(audit_db: AuditDb, operation: str) -> None:
    _fill(audit_db)
    with (
        audit_db.connect() as conn,
        pytest.raises(
            psycopg.errors.InsufficientPrivilege, match=f"audit_log is append-only: {operation}"
        ),
    ):
        conn.execute(STATEMENTS[operation])
    assert _count(audit_db) == 3


@pytest.mark.parametrize("role", ["bridge", "reader"])
@pytest.mark.parametrize("operation", sorted(STATEMENTS))
def test_service_roles_are_refused(audit_db: AuditDb, role: str, operation: str) -> None:
    _fill(audit_db)
    url = audit_db.bridge_url if role == "bridge" else audit_db.reader_url
    with (
        audit_db.connect(url) as conn,
        pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="permission denied for table audit_log"
        ),
    ):
        conn.execute(STATEMENTS[operation])
    assert _count(audit_db) == 3


@pytest.mark.parametrize("role", ["bridge", "reader"])
def test_service_roles_cannot_append_behind_the_chain(audit_db: AuditDb, role: str) -> None:
    url = audit_db.bridge_url if role == "bridge" else audit_db.reader_url
    with audit_db.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        record(
            conn,
            Actor("mallory", "service"),
            action="create",
            subject_kind="shipment",
            subject_id="S-9",
            before=None,
            after=None,
        )


def test_the_reader_may_read_it(audit_db: AuditDb) -> None:
    _fill(audit_db)
    with audit_db.connect(audit_db.reader_url) as conn:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM audit_log ORDER BY seq")]
    assert seqs == [1, 2, 3]
