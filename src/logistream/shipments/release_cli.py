"""``logistream shipments release ID LOT --release|--quarantine --reason TEXT``: a quality
manager's decision on a lot, logged in ``lot_releases`` (newest counts; the shipment report shows
it beside the lot's release verdict). The user recorded is ``cli:<OS user>``, as the other
shipments commands record it. Refusals are one line and exit 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from logistream.shipments.errors import ShipmentError


def release(
    shipment_id: Annotated[str, typer.Argument(help="The shipment id.")],
    lot: Annotated[str, typer.Argument(help="The lot number.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the log, shown in the report).")],
    released: Annotated[
        bool | None,
        typer.Option(
            "--release/--quarantine",
            help="Release the lot, or put it in quarantine.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Release or quarantine a lot (a quality manager's decision, logged)."""
    import psycopg

    from logistream.config import get_settings, resolve_endpoints
    from logistream.errors import ConfigError
    from logistream.schema.migrate import migrate
    from logistream.shipments.cli import _actor, _operator
    from logistream.shipments.releases import record_release

    if released is None:
        raise ShipmentError("--release/--quarantine", "say which: --release or --quarantine")
    settings = get_settings()
    url = resolve_endpoints(settings).database_url
    migrate(settings, url)  # lot_releases comes with migration 0053
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({str(error).strip()}); "
            "check it, or run `logistream stack up`"
        ) from error
    with conn:
        decision = "released" if released else "quarantined"
        done = record_release(conn, shipment_id, lot, decision, _operator(), reason, actor=_actor())
    print(f"{shipment_id} lot {lot}: {done.decision} by {done.by} at {done.at.isoformat()}")
