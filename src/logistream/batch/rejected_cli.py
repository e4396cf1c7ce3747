"""``logistream rejected``: the messages the bridge refused, with why, newest first.

The same record as the dashboard's Rejected readings page: reason code, the sentence that says
what to fix, the truck (the message key), when, where in Kafka, and the original bytes.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from logistream.display_time import show
from logistream.errors import ConfigError


def rejected(
    limit: Annotated[int, typer.Option(min=1, help="Most messages to list.")] = 50,
    reason: Annotated[
        str | None, typer.Option(help="Only this reason code, e.g. missing_field.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
) -> None:
    """List the readings the bridge refused (the dead-letter record), newest first."""
    import psycopg

    from logistream.config import get_settings
    from logistream.reads import rejected as reads
    from logistream.reads.connect import connect_reader

    settings = get_settings()
    try:
        conn = connect_reader(settings)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({error}); check it, or run "
            "`logistream stack up`"
        ) from error
    with conn:
        found = reads.recent(conn, limit, reason)
        totals = reads.counts(conn)
    if json_out:
        for r in found:
            print(json.dumps({
                "rejected_at": r.rejected_at.isoformat(), "reason": r.reason, "detail": r.detail,
                "truck": r.truck, "where": r.where, "original": r.original,
            }, ensure_ascii=False))  # fmt: skip
        return
    if not found:
        print("No rejected readings." if reason is None else f"No rejected readings ({reason}).")
        return
    for r in found:
        print(f"{show(r.rejected_at, settings.timezone)}  {r.reason}  truck {r.truck}  {r.where}")
        print(f"    {r.detail}")
        print(f"    sent: {r.original}")
    summary = ", ".join(f"{code} {n}" for code, n in totals.items())
    print(f"\n{sum(totals.values())} rejected in all: {summary}")


def register(app: typer.Typer) -> None:
    app.command("rejected")(rejected)
