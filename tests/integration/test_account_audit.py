"""Accounts, organisations and API tokens are on the record: each change appends one audit row
in its own transaction (who, from where, before and after), a refused change appends none, a
password or token never reaches the log, and the chain verifies afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.audit_support import AuditDb, migrated_database, postgres_for_module

from logistream.api.token_store import create_token, revoke_token
from logistream.audit.trail import Actor
from logistream.audit.verify import verify
from logistream.serving import users
from logistream.serving.auth import AuthError

ADMIN = Actor("amina", "dashboard", "carrier")
CLI = Actor("cli:ops", "cli")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from postgres_for_module(tmp_path_factory)


@pytest.fixture
def audit_db(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    yield from migrated_database(audit_server, tmp_path)


def _rows(db: AuditDb) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT actor, source, organisation, action, subject_kind, subject_id, before, after "
            "FROM audit_log ORDER BY seq"
        ).fetchall()


def test_each_account_organisation_and_token_change_is_one_audit_row(audit_db: AuditDb) -> None:
    with audit_db.connect() as conn:
        users.add_organisation(conn, "kemsa", "shipper", "KEMSA", actor=CLI)
        users.add_user(conn, "otieno", "viewer", PASSWORD, actor=ADMIN)
        users.set_role(conn, "otieno", "dispatcher", actor=ADMIN)
        users.set_password(conn, "otieno", PASSWORD + "!", actor=ADMIN)
        users.set_organisation(conn, "otieno", "kemsa", actor=CLI)
        token = create_token(conn, "erp", ["read"], "kemsa", actor=CLI)
        assert revoke_token(conn, "erp", actor=CLI) == 1
        assert revoke_token(conn, "erp", actor=CLI) == 0  # nothing live: nothing changed
        users.remove_user(conn, "otieno", actor=ADMIN)
        # Refused changes leave no row.
        with pytest.raises(AuthError):
            users.set_role(conn, "nobody", "admin", actor=ADMIN)
        with pytest.raises(AuthError):
            users.add_user(conn, "wanjiru", "viewer", PASSWORD, "no-such-org", actor=ADMIN)

    assert _rows(audit_db) == [
        ("cli:ops", "cli", "carrier", "add_organisation", "organisation", "kemsa", None,
         {"name": "KEMSA", "kind": "shipper"}),
        ("amina", "dashboard", "carrier", "add_user", "user", "otieno", None,
         {"role": "viewer", "organisation": "carrier"}),
        ("amina", "dashboard", "carrier", "set_role", "user", "otieno", {"role": "viewer"},
         {"role": "dispatcher"}),
        ("amina", "dashboard", "carrier", "set_password", "user", "otieno", None,
         {"password": "changed"}),
        ("cli:ops", "cli", "carrier", "set_organisation", "user", "otieno",
         {"organisation": "carrier"}, {"organisation": "kemsa"}),
        ("cli:ops", "cli", "carrier", "create_token", "token", "erp", None,
         {"scopes": ["read"], "organisation": "kemsa"}),
        ("cli:ops", "cli", "carrier", "revoke_token", "token", "erp", {"live": 1}, {"live": 0}),
        ("amina", "dashboard", "carrier", "remove_user", "user", "otieno",
         {"role": "dispatcher", "organisation": "kemsa"}, None),
    ]  # fmt: skip
    logged = json.dumps(_rows(audit_db))
    assert PASSWORD not in logged
    assert token not in logged
    with audit_db.connect(audit_db.reader_url) as conn:
        result = verify(conn)
    assert result.broken is None, result.line()
    assert result.rows == 8
