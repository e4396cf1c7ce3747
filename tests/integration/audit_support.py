"""Fixtures for the audit trail's integration tests: they need PostgreSQL only, so a module
starts one PostgreSQL of its own (a minute cheaper than the session's Kafka + Redis stack when
the audit files run alone), or uses LOGISTREAM_TEST_DATABASE_URL when set; each test gets a
fresh, migrated database. A test module declares two short fixtures over these generators::

    @pytest.fixture(scope="module")
    def audit_server(tmp_path_factory): yield from postgres_for_module(tmp_path_factory)

    @pytest.fixture
    def audit_db(audit_server, tmp_path): yield from migrated_database(audit_server, tmp_path)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from tests.conftest import TEST_ROLE_PASSWORDS

from logistream.config import Settings, read_secrets, role_conninfo
from logistream.schema.migrate import migrate


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def postgres_for_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser URL of a PostgreSQL for this module."""
    named = os.environ.get("LOGISTREAM_TEST_DATABASE_URL")
    if named:
        yield named
        return
    from logistream.stack.postgres_server import PostgresServer
    from logistream.stack.process import free_port

    home = tmp_path_factory.mktemp("audit-pg")
    own = Settings(home=home, postgres_port=free_port(), database_url=None)
    server = PostgresServer(own)
    server.up()
    try:
        yield server.url(read_secrets(own)["postgres_password"])
    finally:
        server.destroy()


@dataclass(frozen=True)
class AuditDb:
    """One test's migrated database: settings, the owner (superuser) URL, the role URLs."""

    settings: Settings
    owner_url: str
    bridge_url: str
    reader_url: str

    def connect(self, url: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(url or self.owner_url, autocommit=True, **kwargs)


def migrated_database(audit_server: str, tmp_path: Path) -> Iterator[AuditDb]:
    name = f"a_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(audit_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_path(audit_server, f"/{name}")
    settings = Settings(
        home=tmp_path / "home", database_url=url, database_name=name, **TEST_ROLE_PASSWORDS
    )
    migrate(settings, url)
    yield AuditDb(
        settings=settings,
        owner_url=url,
        bridge_url=role_conninfo(url, "bridge", TEST_ROLE_PASSWORDS["bridge_db_password"]),
        reader_url=role_conninfo(url, "reader", TEST_ROLE_PASSWORDS["reader_db_password"]),
    )
    with psycopg.connect(audit_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
