"""The ``logistream`` console script. Each layer registers its own commands (one module each)."""

from __future__ import annotations

import sys

from logistream import shutdown

# Commands that run until stopped: a stop during their start-up must still end in exit 0.
LONG_RUNNING = frozenset({"speed", "bridge", "simulate", "notify", "batch", "gateway"})
if len(sys.argv) > 1 and sys.argv[1] in LONG_RUNNING:
    shutdown.remember_early_stops()

import typer  # noqa: E402 - after the early stop handler, so typer's import time is covered

from logistream.errors import LogiStreamError  # noqa: E402

app = typer.Typer(
    name="logistream",
    help="Real-time cold-chain monitoring for refrigerated trucks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported here so that `logistream --help` stays fast: each module imports its heavy
    # dependencies (Kafka, Streamlit, psycopg) inside the command it runs.
    from logistream import demo
    from logistream.api import cli as api_cli
    from logistream.audit import cli as audit_cli
    from logistream.backup import cli as backup_cli
    from logistream.batch import cli as batch_cli
    from logistream.batch import report_cli
    from logistream.ingest import cli as ingest_cli
    from logistream.modes import cli as modes_cli
    from logistream.notify import cli as notify_cli
    from logistream.serving import cli as serving_cli
    from logistream.shipments import cli as shipments_cli
    from logistream.speed import cli as speed_cli
    from logistream.stack import cli as stack_cli

    modules = (
        stack_cli,
        ingest_cli,
        speed_cli,
        batch_cli,
        report_cli,
        serving_cli,
        api_cli,
        notify_cli,
        shipments_cli,
        modes_cli,
        audit_cli,
        backup_cli,
        demo,
    )
    for module in modules:
        module.register(app)


def main() -> None:
    """Entry point: a LogiStreamError ends the program with its one-line message and exit 2."""
    _register_commands()
    try:
        app()
    except LogiStreamError as error:
        print(f"logistream: {error}", file=sys.stderr)
        sys.exit(2)
