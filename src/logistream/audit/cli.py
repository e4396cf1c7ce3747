"""``logistream audit verify|list``, registered on the ``logistream`` app with ``register``.

Both read as the read-only role (``logistream_reader`` has SELECT on audit_log) after bringing
the schema up to date with the owner's URL (audit_log comes with migration 0060), as the
shipments commands do. ``verify`` exits 0 when the chain is intact, 1 on a break (one line on
stdout either way), progress lines go to stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Settings


@contextlib.contextmanager
def _reader() -> Iterator[tuple[psycopg.Connection[Any], Settings]]:
    import psycopg

    from logistream.config import get_settings, resolve_endpoints, role_password
    from logistream.errors import StoreUnavailable
    from logistream.reads.connect import configure_reader, reader_conninfo
    from logistream.schema.migrate import migrate

    settings = get_settings()
    owner_url = resolve_endpoints(settings).database_url
    migrate(settings, owner_url)
    try:
        conn = psycopg.connect(
            reader_conninfo(owner_url, role_password(settings, "reader")), connect_timeout=5
        )
    except psycopg.OperationalError as error:
        raise StoreUnavailable("postgres", f"cannot read the audit log: {error}") from error
    with conn:
        configure_reader(conn)
        # A long verify fetches in many steps; none should be cut by the reader's timeout.
        conn.execute("SET statement_timeout = '5min'")
        yield conn, settings


def verify() -> None:
    """Recompute the audit log's hash chain; exit 1 naming the first altered or deleted row."""
    import time

    from logistream.audit.verify import verify as run_verify

    started = time.monotonic()

    def progress(rows: int) -> None:
        rate = rows / max(time.monotonic() - started, 1e-9)
        typer.echo(f"audit verify: {rows} rows checked ({rate:,.0f} rows/s)", err=True)

    with _reader() as (conn, _settings):
        result = run_verify(conn, progress)
    typer.echo(result.line())
    if result.broken is not None:
        raise typer.Exit(1)


def list_rows(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Subject kind: shipment, lot, user, mode...")
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject id.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who made the change.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="A day (2026-12-08) or a time, in the display zone."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 50,
) -> None:
    """The audit log, newest first, times in the display zone."""
    from logistream.audit.listing import AuditFilter, format_row, list_query, parse_since
    from logistream.config import get_settings
    from logistream.display_time import zone_note

    timezone = get_settings().timezone
    since_at: datetime | None = parse_since(since, timezone) if since else None
    sql, params = list_query(AuditFilter(kind, subject, actor, since_at, limit))
    with _reader() as (conn, settings):
        rows = conn.execute(sql, params).fetchall()
    typer.echo(f"audit log, newest first; times in {zone_note(settings.timezone)}")
    for row in rows:
        typer.echo(format_row(tuple(row), settings.timezone))
    if not rows:
        typer.echo("no audit rows match")


def register(app: typer.Typer) -> None:
    """Add ``audit verify`` and ``audit list`` to ``app``."""
    audit_app = typer.Typer(
        help="The audit trail: who changed what, when, from where (append-only, hash-chained).",
        no_args_is_help=True,
        add_completion=False,
    )
    audit_app.command("verify")(verify)
    audit_app.command("list")(list_rows)
    app.add_typer(audit_app, name="audit")
