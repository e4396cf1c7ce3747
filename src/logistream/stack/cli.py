"""``logistream stack up|down|status``: the local Kafka, PostgreSQL, Redis and Mosquitto."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from logistream.config import get_settings

stack_app = typer.Typer(
    help="The local stack: Kafka (KRaft), PostgreSQL 15, Redis 7 and Mosquitto 2 (MQTT)."
)


@stack_app.command("up")
def up(
    brokers: int | None = typer.Option(
        None,
        "--brokers",
        min=1,
        max=9,
        help="Kafka nodes (3: a KRaft cluster, replication 3, min.insync.replicas 2). "
        "A stack home keeps the count it was first started with.",
    ),
    secure: bool = typer.Option(
        False,
        "--secure",
        help="SASL/SCRAM and ACLs in Kafka, an ACL user per service in Redis; each service's "
        "settings are written to <home>/env/<service>.env (mode 0600).",
    ),
) -> None:
    """Start the servers not already running (or named by LOGISTREAM_* URLs) and wait for them."""
    from logistream.stack.manager import Stack

    settings = get_settings()
    stack = Stack(settings, brokers=brokers, secure=secure or None)
    started = time.monotonic()
    stack.prepare()
    for service in stack.local_services():
        typer.echo(f"starting {service.name} …", err=True)
        service.up()
    stack.up()  # topics, secrets: idempotent
    typer.echo(f"stack up in {time.monotonic() - started:.1f} s (home {settings.home})", err=True)
    _print_status(stack)


@stack_app.command("down")
def down(
    purge: bool = typer.Option(
        False,
        "--purge",
        help="Also remove the stack's data: PostgreSQL, Kafka, Redis and Mosquitto folders "
        "(as root, PostgreSQL's under /var/tmp/logistream-postgres too), the layout and --secure "
        "env files. "
        "The passwords file stays.",
    ),
) -> None:
    """Stop the servers this stack started, cleanly; their data stays unless --purge."""
    from logistream.stack.manager import Stack

    stack = Stack(get_settings())
    if purge:
        removed = stack.purge()
        for path in removed:
            typer.echo(f"removed {path}", err=True)
        if not removed:
            typer.echo("nothing to remove", err=True)
    else:
        stack.down()
    _print_status(stack)


@stack_app.command("status")
def status() -> None:
    """Which servers run, and where."""
    from logistream.stack.manager import Stack

    stack = Stack(get_settings())
    if not _print_status(stack):
        raise typer.Exit(code=3)


@stack_app.command("mqtt-files")
def mqtt_files(
    directory: Annotated[Path, typer.Argument(help="Folder the official Mosquitto image mounts.")],
) -> None:
    """Write Mosquitto's configuration, ACL and password list from the device registry, for the
    official image (docker-compose.yml); `stack up` does this itself for the local broker."""
    from logistream.stack.mosquitto_server import write_container_files

    for path in write_container_files(get_settings(), directory):
        typer.echo(f"wrote {path}", err=True)


@stack_app.command("mqtt-password")
def mqtt_password(
    device_id: Annotated[str, typer.Argument(help="An MQTT device's id in devices.toml.")],
) -> None:
    """Print the MQTT password the local stack gave a device (to set in the device)."""
    from logistream.stack.mqtt_accounts import device_password

    typer.echo(device_password(get_settings(), device_id))


def _print_status(stack: object) -> bool:
    from logistream.stack.manager import Stack

    assert isinstance(stack, Stack)
    all_up = True
    for entry in stack.status():
        pid = f"pid {entry.pid}" if entry.pid else ""
        typer.echo(f"{entry.name:<9} {entry.state:<9} {entry.address:<50} {pid}".rstrip())
        all_up = all_up and entry.state != "stopped"
    return all_up


def register(app: typer.Typer) -> None:
    app.add_typer(stack_app, name="stack")
