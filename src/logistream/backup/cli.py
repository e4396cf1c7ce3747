"""Commands ``backup`` and ``restore``, registered on the ``logistream`` app with ``register``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _echo(line: str) -> None:
    typer.echo(line, err=True)


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to ``app``."""

    @app.command()
    def backup(
        output: Annotated[
            Path | None,
            typer.Option(
                "-o", "--output", help="Backup file (default: logistream-backup-<UTC time>.tar)."
            ),
        ] = None,
    ) -> None:
        """Back up the whole LogiStream database and the registry files in use to one file.

        Safe while the pipeline runs: the dump is one consistent snapshot, and the bridge's
        offsets in it match its rows. The file holds password hashes: keep it private (0600).
        """
        from logistream.backup.ops import backup as run_backup
        from logistream.backup.ops import default_output
        from logistream.config import get_settings, resolve_endpoints

        settings = get_settings()
        target = output or default_output()
        run_backup(settings, resolve_endpoints(settings).database_url, target, _echo)
        typer.echo(str(target))

    @app.command()
    def restore(
        backup_file: Annotated[Path, typer.Argument(help="A file made by `logistream backup`.")],
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Drop a non-empty target database (and overwrite differing registry "
                "files) instead of refusing. Stop the bridge and the API first.",
            ),
        ] = False,
        registry_dir: Annotated[
            Path | None,
            typer.Option(
                help="Where to write the backup's registry files when they differ from those "
                "in use (default: LOGISTREAM_REGISTRY_DIR, else <LOGISTREAM_HOME>/registry)."
            ),
        ] = None,
    ) -> None:
        """Restore a backup into an empty (or absent) database, e.g. of a fresh stack.

        Roles are created and their passwords set for this installation; a bridge started
        afterwards resumes from the restored offsets without loss or duplicates.
        """
        from logistream.backup.ops import restore as run_restore
        from logistream.config import get_settings, resolve_endpoints

        settings = get_settings()
        run_restore(
            settings,
            resolve_endpoints(settings).database_url,
            backup_file,
            _echo,
            force=force,
            registry_dir=registry_dir,
        )
