"""``logistream dashboard``, ``users``, ``orgs`` (organisations), ``trucks`` (unknown ones) and
``pgadmin``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from logistream.audit.actors import cli_actor

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_argv(port: int, address: str) -> list[str]:
    """The command line that serves the dashboard (headless: no browser is opened)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "dark",
    ]


def _owner_url() -> str:
    from logistream.config import get_settings, resolve_endpoints

    return resolve_endpoints(get_settings()).database_url


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name; recorded on acknowledgements.")],
    role: Annotated[
        str, typer.Option(help="viewer, dispatcher, admin or quality_manager.")
    ] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    organisation: Annotated[
        str | None,
        typer.Option(
            help="Organisation id (as a shipment's shipper.id / receiver.id, added with "
            "`logistream orgs add`) the account belongs to; leave out for the carrier's staff "
            "(organisation carrier). A shipper's or receiver's users see only their shipments; "
            "only a receiver's users sign for lots."
        ),
    ] = None,
) -> None:
    """Add a dashboard account (the password is prompted for, or read from stdin)."""
    from logistream.serving import users

    password = _password(password_stdin)
    with users.connect(_owner_url()) as conn:
        user = users.add_user(conn, name, role, password, organisation, actor=cli_actor())
    of = f", {user.organisation}" if user.organisation else ""
    typer.echo(f"user {user.name} added ({user.role}{of})")


def users_list() -> None:
    """List dashboard accounts, their roles and organisations ("-": none, cannot sign in)."""
    from logistream.serving import users

    with users.connect(_owner_url()) as conn:
        accounts = users.list_users(conn)
    for user in accounts:
        typer.echo(f"{user.name:<32} {user.role:<10} {user.organisation or '-'}")
    if not accounts:
        typer.echo("no users; add one with `logistream users add NAME --role admin`")


def users_remove(name: Annotated[str, typer.Argument(help="The account to remove.")]) -> None:
    """Remove a dashboard account."""
    from logistream.serving import users

    with users.connect(_owner_url()) as conn:
        users.remove_user(conn, name, actor=cli_actor())
    typer.echo(f"user {name} removed")


def users_password(
    name: Annotated[str, typer.Argument(help="The account.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password for an account."""
    from logistream.serving import users

    password = _password(password_stdin)
    with users.connect(_owner_url()) as conn:
        users.set_password(conn, name, password, actor=cli_actor())
    typer.echo(f"password of {name} changed")


def users_set_organisation(
    name: Annotated[str, typer.Argument(help="The account.")],
    organisation: Annotated[
        str, typer.Argument(help="An existing organisation id (`carrier`: the fleet's staff).")
    ],
) -> None:
    """Move an account to another organisation (it must exist: `logistream orgs list`)."""
    from logistream.serving import users

    with users.connect(_owner_url()) as conn:
        users.set_organisation(conn, name, organisation, actor=cli_actor())
    typer.echo(f"user {name} now of {organisation}")


def orgs_add(
    org_id: Annotated[
        str, typer.Argument(help="The id, as shipment files name it (shipper.id / receiver.id).")
    ],
    kind: Annotated[str, typer.Option(help="shipper or receiver.")],
    name: Annotated[
        str | None, typer.Option(help="The name people read (default: the id).")
    ] = None,
) -> None:
    """Register a shipper or receiver organisation (the carrier, `carrier`, always exists)."""
    from logistream.serving import users

    with users.connect(_owner_url()) as conn:
        org = users.add_organisation(conn, org_id, kind, name, actor=cli_actor())
    typer.echo(f"organisation {org.org_id} added ({org.kind}, {org.name})")


def orgs_list() -> None:
    """List the organisations: id, kind and name."""
    from logistream.serving import users

    with users.connect(_owner_url()) as conn:
        found = users.list_organisations(conn)
    for org in found:
        typer.echo(f"{org.org_id:<32} {org.kind:<10} {org.name}")


def pgadmin(
    port: Annotated[int, typer.Option(help="Port pgAdmin listens on (localhost only).")] = 5050,
    venv: Annotated[
        Path | None, typer.Option(help="pgAdmin's own virtualenv (default build/pgadmin-venv).")
    ] = None,
    install_only: Annotated[
        bool, typer.Option("--install-only", help="Install pgAdmin (a few minutes) and exit.")
    ] = False,
) -> None:
    """Start pgAdmin 4 on localhost with the archive registered read-only (Ctrl+C stops)."""
    from logistream.config import get_settings, resolve_endpoints, role_password
    from logistream.schema.migrate import migrate
    from logistream.serving import pgadmin as pga

    settings = get_settings()
    layout = pga.Layout(venv=venv or pga.default_venv(), data=settings.home.resolve() / "pgadmin")
    if install_only:
        pga.ensure_venv(layout)
        typer.echo(f"pgAdmin 4 {pga.PGADMIN_VERSION} is installed in {layout.venv}", err=True)
        return
    who = pga.login(settings)
    owner_url = resolve_endpoints(settings).database_url
    # The registered server is the read-only role: make sure it exists with its password.
    migrate(settings, owner_url)
    pga.ensure_venv(layout)
    env = pga.prepare(
        layout, pga.reader_url(owner_url, role_password(settings, "reader")), port, who
    )
    typer.echo(
        f"pgAdmin 4: http://127.0.0.1:{port}  (sign in as {who.email} with the password "
        f"from {who.source}); the archive is registered read-only as logistream_reader",
        err=True,
    )
    argv = pga.server_argv(layout)
    os.execve(argv[0], argv, env)  # noqa: S606 - fixed argv; signals go straight to pgAdmin


def register(app: typer.Typer) -> None:
    from logistream.serving import unknown_trucks

    @app.command("dashboard")
    def dashboard(
        port: int = typer.Option(8501, help="Port to serve the dashboard on."),
        address: str = typer.Option("127.0.0.1", help="Address to listen on."),
    ) -> None:
        """Serve the control room: live fleet, alerts, trucks, audits, analytics."""
        from logistream.config import get_settings

        get_settings()  # a wrong setting stops here, in one line, not inside Streamlit
        typer.echo(f"LogiStream control room: http://localhost:{port}", err=True)
        # Replace this process, so SIGINT/SIGTERM reach Streamlit directly and it exits cleanly.
        os.execv(sys.executable, streamlit_argv(port, address))  # noqa: S606 - fixed argv

    users_app = typer.Typer(help="Dashboard accounts.", no_args_is_help=True, add_completion=False)
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("remove")(users_remove)
    users_app.command("password")(users_password)
    users_app.command("set-organisation")(users_set_organisation)
    app.add_typer(users_app, name="users")
    orgs_app = typer.Typer(
        help="Organisations: the carrier, shippers and receivers.",
        no_args_is_help=True,
        add_completion=False,
    )
    orgs_app.command("add")(orgs_add)
    orgs_app.command("list")(orgs_list)
    app.add_typer(orgs_app, name="orgs")
    unknown_trucks.register(app)
    app.command("pgadmin")(pgadmin)
