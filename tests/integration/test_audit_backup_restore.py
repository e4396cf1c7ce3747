"""Backup and restore carry the audit log, and restore verifies its chain: through the real
``logistream backup`` / ``restore`` commands (as tests/integration/test_backup_restore.py runs
them), on a PostgreSQL of the module's own. An intact log comes back row for row (hashes and
all) and the restore says so; a backup whose log was tampered with (a row altered by the
superuser with triggers skipped) is refused in one line, and the target database is left
empty."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.sql
import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.audit.trail import Actor, record
from logistream.config import child_env

CLI = (
    "import sys, typer\n"
    "from logistream.backup import cli\n"
    "from logistream.errors import LogiStreamError\n"
    "app = typer.Typer()\n"
    "cli.register(app)\n"
    "try:\n"
    "    app()\n"
    "except LogiStreamError as error:\n"
    "    print(f'logistream: {error}', file=sys.stderr)\n"
    "    sys.exit(2)\n"
)
ROWS = (
    "SELECT seq, at, actor, source, before, after, prev_hash, row_hash FROM audit_log ORDER BY seq"
)


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


@pytest.fixture
def targets(audit_server: str) -> Iterator[list[str]]:
    """Names of the databases a test restores into, dropped afterwards."""
    names: list[str] = []
    yield names
    with psycopg.connect(audit_server, autocommit=True) as conn:
        for name in names:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


def _run(db: AuditDb, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    parts = urlsplit(db.owner_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
    settings = db.settings.model_copy(update={"database_url": url, "database_name": database})
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _fill(db: AuditDb) -> None:
    with db.connect() as conn:
        for i in range(1, 21):
            record(
                conn,
                Actor("alice", "dashboard", "acme" if i % 2 else None),
                action="release",
                subject_kind="lot",
                subject_id=f"S-1/MR-{i}",
                before={"decision": None},
                after={"decision": "released", "i": i},
                reason="checked",
            )


def _rows(server_url: str, database: str) -> list[tuple[Any, ...]]:
    parts = urlsplit(server_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.audit_log')").fetchone() == (None,):
            return []
        return conn.execute(ROWS).fetchall()


def test_an_intact_audit_log_is_restored_and_verified(
    audit_db: AuditDb, audit_server: str, tmp_path: Path, targets: list[str]
) -> None:
    _fill(audit_db)
    source = str(audit_db.settings.database_name)
    backup = tmp_path / "b.tar"
    done = _run(audit_db, source, "backup", "-o", str(backup))
    assert done.returncode == 0, done.stderr
    target = f"{source}_r"
    targets.append(target)
    done = _run(audit_db, target, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert "audit log intact: 20 rows" in done.stderr
    assert _rows(audit_server, target) == _rows(audit_server, source)
    assert len(_rows(audit_server, target)) == 20


def test_a_backup_with_a_broken_chain_is_refused(
    audit_db: AuditDb, audit_server: str, tmp_path: Path, targets: list[str]
) -> None:
    _fill(audit_db)
    with audit_db.connect() as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute('UPDATE audit_log SET after = \'{"decision": "quarantined"}\' WHERE seq = 12')
    source = str(audit_db.settings.database_name)
    backup = tmp_path / "tampered.tar"
    done = _run(audit_db, source, "backup", "-o", str(backup))
    assert done.returncode == 0, done.stderr
    target = f"{source}_t"
    targets.append(target)
    done = _run(audit_db, target, "restore", str(backup))
    assert done.returncode == 2
    refusal = [line for line in done.stderr.splitlines() if line.startswith("logistream:")]
    assert len(refusal) == 1
    assert "refused: its audit log is altered at seq 12" in refusal[0]
    assert "is left empty" in refusal[0]
    assert _rows(audit_server, target) == []
    parts = urlsplit(audit_db.owner_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{target}", parts.query, parts.fragment))
    with psycopg.connect(url) as conn:  # the database exists, with no tables
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)
