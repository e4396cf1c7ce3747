"""Connections as the read-only ``logistream_reader`` role, with the session settings every
reader uses: read-only transactions and a statement timeout, so a slow page cannot hold the
archive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from logistream.config import role_conninfo

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Settings

STATEMENT_TIMEOUT: Final = "10s"


def reader_conninfo(owner_url: str, password: str) -> str:
    """The archive's URL with the read-only role in place of the owner."""
    return role_conninfo(owner_url, "reader", password)


def configure_reader(conn: psycopg.Connection[Any]) -> None:
    """Autocommit, read-only, with a statement timeout (also for pooled connections)."""
    conn.autocommit = True
    conn.execute("SET default_transaction_read_only = on")
    conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")


def connect_reader(settings: Settings) -> psycopg.Connection[tuple[Any, ...]]:
    """A configured reader connection (raises psycopg.OperationalError when down)."""
    import psycopg

    from logistream.config import resolve_endpoints, role_password

    conninfo = reader_conninfo(
        resolve_endpoints(settings).database_url, role_password(settings, "reader")
    )
    conn = psycopg.connect(conninfo, connect_timeout=3)
    configure_reader(conn)
    return conn
