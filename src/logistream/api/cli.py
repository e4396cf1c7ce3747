"""``logistream api`` (serve the integration API) and ``logistream api token create|revoke|list``.

Registered with :func:`register`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from logistream import shutdown
from logistream.errors import ConfigError, LogiStreamError
from logistream.log_setup import setup_logging

log = logging.getLogger("logistream.api")


def _owner_connection() -> object:
    import psycopg

    from logistream.config import get_settings, resolve_endpoints
    from logistream.schema.migrate import migrate

    settings = get_settings()
    url = resolve_endpoints(settings).database_url
    migrate(settings, url)  # the tokens table comes with migration 0030
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LOGISTREAM_DATABASE_URL: cannot connect to PostgreSQL ({error}); check it, or run "
            "`logistream stack up`"
        ) from error


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1: this machine).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8600).")] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL clients use, e.g. behind a proxy (OpenAPI).")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second per token (default 50).")
    ] = None,
    burst: Annotated[int | None, typer.Option(help="Burst per token (default 100).")] = None,
    workers_log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level.")
    ] = "info",
) -> None:
    """Serve the REST API and live stream (Ctrl+C stops). Tokens: `logistream api token`."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from logistream.api.app import create_app
    from logistream.api.options import load_options
    from logistream.config import get_settings, resolve_endpoints
    from logistream.schema.migrate import migrate

    setup_logging()
    overrides = {
        k: v
        for k, v in {
            "host": host, "port": port, "public_url": public_url, "rate_per_s": rate,
            "burst": burst,
        }.items()
        if v is not None
    }  # fmt: skip
    options = load_options(**overrides)
    settings = get_settings()
    migrate(settings, resolve_endpoints(settings).database_url)
    app = create_app(settings, options)
    typer.echo(
        f"LogiStream API: http://{options.host}:{options.port} (OpenAPI at /openapi.json, "
        "docs at /docs)",
        err=True,
    )

    class Server(uvicorn.Server):
        """uvicorn's server, with the signals left to ``logistream.shutdown``."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def request_exit(self) -> None:
            self.should_exit = True

    server = Server(
        uvicorn.Config(
            app,
            host=options.host,
            port=options.port,
            log_level=workers_log_level,
            timeout_graceful_shutdown=5,
            proxy_headers=options.public_url is not None,
        )
    )
    # First signal: uvicorn stops accepting, lets requests finish (live streams are cut after
    # 5 s), closes the app's connections, and the command exits 0. Second: kill.
    with shutdown.stop_on_signals():
        shutdown.on_stop(server.request_exit)
        server.run()
    if not server.started:  # as uvicorn.run: the app or the socket failed at start-up
        sys.exit(STARTUP_FAILURE)


def token_create(
    name: Annotated[
        str, typer.Argument(help="Who the token is for; recorded on acknowledgements.")
    ],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="read, ack, ingest or shipments; repeat for several."),
    ],
    organisation: Annotated[
        str | None,
        typer.Option(
            "--organisation",
            help="The organisation it acts for (a shipment's receiver.id): a token of the "
            "receiver records proofs of delivery. Default: none (the fleet operator).",
        ),
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its hash is stored."""
    from logistream.api.token_store import create_token
    from logistream.audit.actors import cli_actor

    scopes = [s.strip() for item in scope for s in item.split(",")]
    try:
        with _owner_connection() as conn:  # type: ignore[attr-defined]
            token = create_token(conn, name, scopes, organisation, actor=cli_actor())
    except ValueError as error:
        raise ConfigError(str(error)) from error
    acting = f", organisation {organisation!r}" if organisation else ""
    typer.echo(
        f"token {name!r} ({', '.join(sorted(set(scope)))}{acting}) created; it is shown only "
        "now, keep it secret:",
        err=True,
    )
    typer.echo(token)


def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Revoke the live token of NAME (refused within LOGISTREAM_API_TOKEN_CACHE_S, 5 s)."""
    from logistream.api.token_store import revoke_token
    from logistream.audit.actors import cli_actor

    with _owner_connection() as conn:  # type: ignore[attr-defined]
        count = revoke_token(conn, name, actor=cli_actor())
    if not count:
        raise LogiStreamError(f"no live token named {name!r}; see `logistream api token list`")
    typer.echo(f"token {name!r} revoked")


def token_list() -> None:
    """The tokens (names, scopes, dates; never the tokens themselves)."""
    from logistream.api.token_store import list_tokens

    with _owner_connection() as conn:  # type: ignore[attr-defined]
        tokens = list_tokens(conn)
    if not tokens:
        typer.echo("no API tokens; create one with `logistream api token create NAME --scope read`")
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}Z" if t.revoked_at else "live"
        org = f" organisation {t.organisation}" if t.organisation else ""
        typer.echo(
            f"{t.name:<24} {','.join(t.scopes):<18} created {t.created_at:%Y-%m-%d} {state}{org}"
        )


def register(app: typer.Typer) -> None:
    """Add ``api`` and ``api token create|revoke|list`` to ``app``."""
    api_app = typer.Typer(
        help="The integration API (REST + live stream) and its tokens.", add_completion=False
    )
    api_app.callback(invoke_without_command=True)(serve)
    token_app = typer.Typer(help="Create, revoke and list API tokens.", no_args_is_help=True)
    token_app.command("create")(token_create)
    token_app.command("revoke")(token_revoke)
    token_app.command("list")(token_list)
    api_app.add_typer(token_app, name="token")
    app.add_typer(api_app, name="api")


def main() -> None:
    """``python -m logistream.api``: the same as ``logistream api`` before it is wired in."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    try:
        app(["api", *sys.argv[1:]], prog_name="logistream")
    except LogiStreamError as error:
        print(f"logistream: {error}", file=sys.stderr)
        sys.exit(2)
