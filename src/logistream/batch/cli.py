"""Commands of the batch layer, registered on the ``logistream`` app: ``bridge`` and ``migrate``."""

from __future__ import annotations

import typer

from logistream import shutdown
from logistream.log_setup import setup_logging


def bridge_conninfo(owner_url: str, password: str) -> str:
    """The archive's URL with the insert-only bridge role in place of the owner."""
    from logistream.config import role_conninfo

    return role_conninfo(owner_url, "bridge", password)


def register(app: typer.Typer) -> None:
    """Add this layer's commands to ``app``."""
    from logistream.batch import rejected_cli

    rejected_cli.register(app)

    @app.command()
    def bridge(
        batch_size: int = typer.Option(5000, min=1, help="Most messages per batch."),
        batch_wait_ms: int = typer.Option(250, min=1, help="Longest wait to fill a batch."),
        wait_for_db_s: float = typer.Option(
            300.0, help="How long to wait for PostgreSQL at start before giving up."
        ),
        instance_id: str | None = typer.Option(
            None,
            help="Static Kafka group member id (group.instance.id): a restarted bridge with "
            "the same id takes its partitions back at once. Unique per running bridge.",
        ),
    ) -> None:
        """Archive every reading and alert change into PostgreSQL, exactly once (Ctrl+C stops)."""
        import psycopg

        from logistream.batch.config_audit import record_files_in_use
        from logistream.batch.data_bridge import BridgeOptions, DataBridge
        from logistream.config import get_settings, resolve_endpoints, role_password
        from logistream.schema.migrate import migrate_waiting

        setup_logging()
        # First signal: finish or abandon the batch in hand (an open transaction is rolled
        # back: still all-or-nothing), commit, exit 0. Second: kill.
        with shutdown.stop_on_signals() as stop:
            settings = get_settings()
            endpoints = resolve_endpoints(settings)
            if not migrate_waiting(settings, endpoints.database_url, wait_for_db_s, stop.is_set):
                return
            with psycopg.connect(endpoints.database_url, autocommit=True) as conn:
                record_files_in_use(conn, settings, "bridge")
            runner = DataBridge(
                settings,
                endpoints,
                bridge_conninfo(endpoints.database_url, role_password(settings, "bridge")),
                BridgeOptions(
                    batch_size=batch_size,
                    batch_wait_s=batch_wait_ms / 1000.0,
                    static_member_id=instance_id,
                ),
            )
            if stop.is_set():
                return
            shutdown.on_stop(runner.request_stop)
            runner.run()

    @app.command()
    def migrate() -> None:
        """Apply pending schema migrations to the archive and set the role passwords."""
        from logistream.config import get_settings, resolve_endpoints
        from logistream.schema.migrate import migrate as run_migrations

        settings = get_settings()
        applied = run_migrations(settings, resolve_endpoints(settings).database_url)
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        typer.echo(f"applied: {names}" if applied else "schema is up to date")
