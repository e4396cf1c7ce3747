"""Make a backup of the LogiStream database and registry, and restore one into a fresh stack.

Backup: one REPEATABLE READ transaction exports its snapshot; the row counts, schema versions and
bridge offsets are read in it and ``pg_dump --snapshot`` dumps exactly that state. Because the
bridge writes rows and their Kafka offsets in one transaction, the dump's offsets cover exactly
the dump's rows: a bridge started on the restored database resumes where the dump ends, with no
reading lost or archived twice.

Restore: only into an empty or absent database (``force`` drops and recreates it). The
cluster-wide roles are created first (the role migrations), the dump is restored in one
transaction (all or nothing), the row counts are checked against the manifest, then
:func:`logistream.schema.migrate.migrate` applies any newer migration and sets the role passwords
of this installation. Last, the audit log's hash chain is verified (``logistream.audit.verify``):
a backup whose chain is broken is refused and the database emptied again. The audit log needs
nothing of its own in the backup: it is a table of the dumped database.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from logistream import __version__
from logistream.backup.bundle import (
    Manifest,
    read_backup,
    registry_in_use,
    write_backup,
)
from logistream.backup.pgtools import client_bin, client_version, run_with_progress, split_password
from logistream.errors import BackupError

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Settings

Echo = Callable[[str], None]
_DUMP_MARKER: Final = re.compile(r'dumping contents of table "?([^"\s]+)"?')
_RESTORE_MARKER: Final = re.compile(r'processing data for table "?([^"\s]+)"?')
_USER_TABLES: Final = """
SELECT c.relname, c.relkind = 'p' AS partitioned
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""
_DATA_TABLES: Final = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
  AND n.nspname NOT LIKE 'pg_temp%%' AND c.relkind = 'r'
"""
_ANY_OBJECT: Final = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
"""


def _describe(url: str) -> dict[str, Any]:
    """Where a database is, without its password (for messages and the manifest)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    return {
        "database": params.get("dbname"),
        "host": params.get("host") or "localhost",
        "port": int(str(params.get("port") or 5432)),
        "user": params.get("user"),
    }


def _where(url: str) -> str:
    d = _describe(url)
    return f"database {d['database']} at {d['host']}:{d['port']}"


def _connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise BackupError(
            f"cannot connect to the {_where(url)} ({str(error).strip()}); check "
            "LOGISTREAM_DATABASE_URL, or run `logistream stack up`"
        ) from error


def _row_counts(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, int]:
    from psycopg import sql

    counts: dict[str, int] = {}
    for name, _partitioned in conn.execute(_USER_TABLES).fetchall():
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(str(name)))
        ).fetchone()
        counts[str(name)] = int(row[0]) if row else 0
    return counts


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MiB"


# -- backup -------------------------------------------------------------------------------------


def default_output(now: dt.datetime | None = None) -> Path:
    moment = now or dt.datetime.now(dt.UTC)
    return Path(f"logistream-backup-{moment:%Y%m%dT%H%M%SZ}.tar")


def backup(settings: Settings, owner_url: str, output: Path, echo: Echo) -> Manifest:
    """Write a backup of the database at ``owner_url`` and the registry in use to ``output``."""
    began = time.monotonic()
    if output.exists() and output.is_dir():
        raise BackupError(f"-o {output}: is a folder; name a file")
    if not output.parent.exists():
        raise BackupError(f"-o {output}: folder {output.parent} does not exist; create it first")
    conn = _connect(owner_url)
    with conn, tempfile.TemporaryDirectory(prefix="logistream-backup-") as work:
        # One snapshot for the counts, offsets and the dump: they describe the same moment.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None
        if conn.execute("SELECT to_regclass('public.schema_version')").fetchone() == (None,):
            raise BackupError(
                f"the {_where(owner_url)} has no LogiStream schema (no schema_version table); "
                "nothing to back up. Is LOGISTREAM_DATABASE_URL the right database?"
            )
        versions = [
            {"version": int(v), "name": str(n), "checksum": str(c)}
            for v, n, c in conn.execute(
                "SELECT version, name, checksum FROM schema_version ORDER BY version"
            ).fetchall()
        ]
        server = conn.execute("SHOW server_version").fetchone()
        server_num = conn.execute("SHOW server_version_num").fetchone()
        assert server is not None
        assert server_num is not None
        echo(f"counting rows in the {_where(owner_url)} …")
        counts = _row_counts(conn)
        offsets = [
            {"consumer_group": g, "topic": t, "partition": int(p), "next_offset": int(n)}
            for g, t, p, n in conn.execute(
                "SELECT consumer_group, topic, partition, next_offset FROM kafka_offsets "
                "ORDER BY 1, 2, 3"
            ).fetchall()
        ] if "kafka_offsets" in counts else []  # fmt: skip
        data_tables_row = conn.execute(_DATA_TABLES).fetchone()
        data_tables = int(data_tables_row[0]) if data_tables_row else 0

        pg_dump = client_bin("pg_dump", int(str(server_num[0])) // 10000)
        dump = Path(work) / "database.dump"
        conninfo, env = split_password(owner_url)
        echo(f"dumping ({counts.get('readings', 0):,} readings, {data_tables} tables) …")
        run_with_progress(
            [pg_dump, "--format=custom", "--verbose", "--no-password",
             f"--snapshot={snapshot_row[0]}", f"--file={dump}", f"--dbname={conninfo}"],
            env_extra=env, marker=_DUMP_MARKER, total=data_tables, label="dumped", echo=echo,
        )  # fmt: skip
        conn.rollback()

        registry = registry_in_use(settings.registry_dir)
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            logistream_version=__version__,
            source=_describe(owner_url),
            postgres={"server_version": str(server[0]), "pg_dump": client_version(pg_dump)},
            schema_version=versions,
            row_counts=counts,
            kafka_offsets=offsets,
            registry={name: source for name, (_content, source) in registry.items()},
        )
        write_backup(output, manifest, dump, {n: c for n, (c, _s) in registry.items()})
    schema = f"{versions[-1]['version']:04d}" if versions else "none"
    echo(
        f"backup written: {output} ({_mib(output.stat().st_size)}, {sum(counts.values()):,} "
        f"rows in {len(counts)} tables, schema {schema}, {time.monotonic() - began:.1f} s)"
    )
    return manifest


# -- restore ------------------------------------------------------------------------------------


def _check_schema(manifest: Manifest, where: str) -> None:
    """Refuse a backup from a newer LogiStream, or one whose migrations differ from ours."""
    from logistream.schema.migrate import shipped_migrations

    shipped = {m.version: m for m in shipped_migrations()}
    for entry in manifest.schema_version:
        version = int(entry["version"])
        ours = shipped.get(version)
        if ours is None:
            raise BackupError(
                f"{where}: the backup has schema version {version:04d} ({entry['name']}), which "
                f"this LogiStream ({__version__}) does not know; restore with LogiStream "
                f"{manifest.logistream_version} or newer"
            )
        if ours.checksum != entry["checksum"]:
            raise BackupError(
                f"{where}: migration {version:04d}_{entry['name']} of the backup differs from "
                f"this LogiStream's; restore with LogiStream {manifest.logistream_version}"
            )


def _prepare_registry(
    settings: Settings, wanted: dict[str, bytes], target: Path | None, force: bool
) -> tuple[Path, bool] | None:
    """Where to write the backup's registry files, or None when those in use already match.

    Checked before the database is touched, so a conflict stops the restore early.
    """
    in_use = registry_in_use(settings.registry_dir)
    if all(name in in_use and in_use[name][0] == content for name, content in wanted.items()):
        return None
    folder = target or settings.registry_dir or settings.home / "registry"
    if not force:
        for name, content in wanted.items():
            path = folder / name
            if path.exists() and path.read_bytes() != content:
                raise BackupError(
                    f"{path} exists and differs from the backup's {name}; pass --registry-dir "
                    "to write the backup's registry elsewhere, or --force to overwrite"
                )
    in_effect = settings.registry_dir is not None and (
        settings.registry_dir.resolve() == folder.resolve()
    )
    return folder, in_effect


def _recreate(owner_url: str, force: bool, echo: Echo) -> None:
    """Make sure the target database exists and is empty (dropping it only with ``force``)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = str(_describe(owner_url)["database"])
    where = _where(owner_url)
    with _connect(make_conninfo(owner_url, dbname="postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            with _connect(owner_url) as target:
                row = target.execute(_ANY_OBJECT).fetchone()
                objects = int(row[0]) if row else 0
                readings = 0
                if target.execute("SELECT to_regclass('public.readings')").fetchone() != (None,):
                    counted = target.execute("SELECT count(*) FROM readings").fetchone()
                    readings = int(counted[0]) if counted else 0
            if objects == 0:
                return
            if not force:
                raise BackupError(
                    f"the {where} is not empty ({objects} tables and other objects, "
                    f"{readings:,} readings); restore only into an empty database or a fresh "
                    "stack, or pass --force to drop it and replace it with the backup"
                )
            echo(f"--force: dropping the {where} ({readings:,} readings) …")
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege as error:
            raise BackupError(
                f"role {_describe(owner_url)['user']} may not create databases: create an empty "
                f"database {name} (`createdb {name}`) and run the restore again"
            ) from error


CLUSTER_ROLE_MIGRATIONS: Final = ("roles", "tenant_role")
"""The migrations that only create cluster-wide roles (0001, 0008): run before pg_restore."""


def _create_roles(owner_url: str) -> None:
    """The cluster-wide roles the dump's grants name (the role migrations; idempotent)."""
    from logistream.schema.migrate import shipped_migrations

    roles = [m for m in shipped_migrations() if m.name in CLUSTER_ROLE_MIGRATIONS]
    with _connect(owner_url, autocommit=True) as conn:
        for migration in roles:
            conn.execute(migration.sql.encode())


def restore(
    settings: Settings,
    owner_url: str,
    backup_file: Path,
    echo: Echo,
    *,
    force: bool = False,
    registry_dir: Path | None = None,
) -> Manifest:
    """Restore ``backup_file`` into the database at ``owner_url``; see the module docstring."""
    import psycopg

    from logistream.errors import MigrationError
    from logistream.schema.migrate import migrate

    began = time.monotonic()
    where = _where(owner_url)
    with tempfile.TemporaryDirectory(prefix="logistream-restore-") as work:
        echo(f"checking {backup_file} …")
        unpacked = read_backup(backup_file, Path(work))
        manifest = unpacked.manifest
        _check_schema(manifest, str(backup_file))
        registry_target = _prepare_registry(settings, unpacked.registry, registry_dir, force)
        echo(
            f"backup of {manifest.created_at} (LogiStream {manifest.logistream_version}, "
            f"PostgreSQL {manifest.postgres.get('server_version')}): "
            f"{manifest.row_counts.get('readings', 0):,} readings; restoring into the {where}"
        )

        _recreate(owner_url, force, echo)
        _create_roles(owner_url)
        with _connect(owner_url) as conn:
            server_num = conn.execute("SHOW server_version_num").fetchone()
        assert server_num is not None
        pg_restore = client_bin("pg_restore", int(str(server_num[0])) // 10000)
        data_entries = _count_data_entries(pg_restore, unpacked.dump)
        conninfo, env = split_password(owner_url)
        echo(f"restoring {_mib(unpacked.dump.stat().st_size)} dump ({data_entries} tables) …")
        # --no-owner: everything belongs to this installation's owner role (the URL's user);
        # one transaction: a failed restore leaves the database empty, not half-filled.
        run_with_progress(
            [pg_restore, "--verbose", "--no-owner", "--single-transaction", "--exit-on-error",
             "--no-password", f"--dbname={conninfo}", str(unpacked.dump)],
            env_extra=env, marker=_RESTORE_MARKER, total=data_entries, label="restored",
            echo=echo,
        )  # fmt: skip

    with _connect(owner_url, autocommit=True) as conn:
        counts = _row_counts(conn)
        wrong = {
            t: (n, counts.get(t)) for t, n in manifest.row_counts.items() if counts.get(t) != n
        }
        if wrong:
            detail = ", ".join(f"{t}: {got} rows, expected {n}" for t, (n, got) in wrong.items())
            raise BackupError(
                f"the restored {where} does not match the backup ({detail}); run the restore "
                "again with --force"
            )
        echo("analyzing the restored tables …")
        conn.execute("ANALYZE")
    try:
        applied = migrate(settings, owner_url)
    except (MigrationError, psycopg.Error) as error:
        raise BackupError(f"the data is restored, but migrating it failed: {error}") from error
    if applied:
        echo(
            "migrated to this LogiStream: "
            + ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        )
    _verify_audit_chain(owner_url, str(backup_file), echo)

    if registry_target is None:
        echo("registry: the files in use already match the backup")
    else:
        folder, in_effect = registry_target
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in unpacked.registry.items():
            (folder / name).write_bytes(content)
        echo(f"registry: the backup's {', '.join(sorted(unpacked.registry))} written to {folder}")
        if not in_effect:
            echo(f"  set LOGISTREAM_REGISTRY_DIR={folder} so LogiStream reads them")
    groups = sorted({str(o["consumer_group"]) for o in manifest.kafka_offsets})
    echo(
        f"restored {sum(counts.values()):,} rows in {len(counts)} tables in "
        f"{time.monotonic() - began:.1f} s; a bridge in group {', '.join(groups) or '(none)'} "
        "resumes from the restored offsets"
    )
    return manifest


def _verify_audit_chain(owner_url: str, backup_name: str, echo: Echo) -> None:
    """The restored audit log's hash chain (logistream.audit.verify); a broken one refuses the
    backup: the database is emptied again, as a failed restore leaves it."""
    from logistream.audit.verify import verify

    echo("verifying the audit log's hash chain …")
    with _connect(owner_url, autocommit=True) as conn:
        result = verify(conn, lambda rows: echo(f"  {rows:,} audit rows checked"))
    if result.broken is None:
        echo(f"audit log intact: {result.rows:,} rows")
        return
    _recreate(owner_url, True, lambda _line: None)
    raise BackupError(
        f"{backup_name} refused: its audit log is {result.broken.kind} at seq "
        f"{result.broken.seq} ({result.broken.detail}); the {_where(owner_url)} is left empty; "
        "restore an earlier backup and keep this one as evidence"
    )


def _count_data_entries(pg_restore: str, dump: Path) -> int:
    import subprocess

    listing = subprocess.run(
        [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False, timeout=120
    )
    if listing.returncode != 0:
        raise BackupError(
            f"{dump.name} in the backup is not a readable pg_dump archive "
            f"({listing.stderr.strip()}); restore from another copy"
        )
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)
