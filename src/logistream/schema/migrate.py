"""Versioned schema migrations: ``migrations/NNNN_name.sql``, applied in order, each once.

Applied versions are recorded in ``schema_version`` with a checksum, so an edited migration that
already ran is reported instead of silently diverging. The runner holds an advisory lock while it
works, so two bridges starting together against one database do not race. Planning (which files,
in which order, which are pending) is pure; :func:`migrate` is the I/O edge.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Final

from logistream.config import DATABASE_ROLES
from logistream.errors import MigrationError

log = logging.getLogger("logistream.schema")

if TYPE_CHECKING:
    import psycopg

    from logistream.config import Settings

BRIDGE_ROLE: Final = DATABASE_ROLES["bridge"]
READER_ROLE: Final = DATABASE_ROLES["reader"]
# Key of the advisory lock that serialises runners on one database ("LSMIGRAT" in ASCII).
MIGRATION_LOCK_KEY: Final = 0x4C534D4947524154
_NAME_RE: Final = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def parse_migrations(files: Mapping[str, str]) -> list[Migration]:
    """Migrations from ``{filename: sql}``, ordered by version; refuses bad names and clashes.

    Versions may leave gaps: each part of the schema numbers its own block (0001–0009 the
    archive, 0010–0019 the batch views, 0020–0029 serving), so parts grow independently.
    """
    found: dict[int, Migration] = {}
    for filename, sql in files.items():
        match = _NAME_RE.match(filename)
        if match is None:
            raise MigrationError(
                f"migration file {filename!r}: name it NNNN_lowercase_name.sql "
                "(e.g. 0004_trips.sql)"
            )
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"two migrations share version {version:04d}: {found[version].name} and "
                f"{match['name']}; renumber one"
            )
        found[version] = Migration(version, match["name"], sql)
    ordered = [found[v] for v in sorted(found)]
    return ordered


def pending(migrations: Iterable[Migration], applied: Mapping[int, str]) -> list[Migration]:
    """The migrations not applied yet; an applied one whose file changed is an error."""
    todo: list[Migration] = []
    for migration in migrations:
        checksum = applied.get(migration.version)
        if checksum is None:
            # A block may grow after a later block was applied (0012 after 0030): blocks are
            # independent, so a new lower version is applied too, in version order.
            todo.append(migration)
        elif checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} was edited after it was "
                "applied; put the change in a new migration file instead"
            )
    unknown = set(applied) - {m.version for m in migrations}
    if unknown:
        newest = max(unknown)
        raise MigrationError(
            f"the database has schema version {newest:04d}, newer than this LogiStream knows; "
            "upgrade LogiStream"
        )
    return todo


def shipped_migrations() -> list[Migration]:
    """The migrations packaged with LogiStream (``logistream/schema/migrations/*.sql``)."""
    folder = resources.files("logistream.schema") / "migrations"
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }
    return parse_migrations(files)


_CREATE_VERSION_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def apply_migrations(
    conn: psycopg.Connection[tuple[object, ...]], migrations: list[Migration]
) -> list[Migration]:
    """Apply what is pending on an autocommit connection, each migration in one transaction."""
    conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
    try:
        conn.execute(_CREATE_VERSION_TABLE)
        rows = conn.execute("SELECT version, checksum FROM schema_version").fetchall()
        applied = {int(str(v)): str(c) for v, c in rows}
        todo = pending(migrations, applied)
        for migration in todo:
            try:
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_version (version, name, checksum) VALUES (%s, %s, %s)",
                        [migration.version, migration.name, migration.checksum],
                    )
            except Exception as error:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: {error}"
                ) from error
        return todo
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


def set_role_password(
    conn: psycopg.Connection[tuple[object, ...]], role: str, password: str, attempts: int = 5
) -> None:
    """``ALTER ROLE ... PASSWORD``; retried because roles are cluster-wide and another
    database's runner may update the same catalog row at the same moment."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(password)
    )
    for attempt in range(attempts):
        try:
            conn.execute(statement)
            return
        except psycopg.errors.InternalError:  # "tuple concurrently updated"
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def migrate(settings: Settings, owner_url: str) -> list[Migration]:
    """Bring the database at ``owner_url`` to the shipped schema and set the role passwords.

    Returns the migrations applied now (empty when the schema was current).
    """
    import psycopg

    from logistream.config import role_password

    migrations = shipped_migrations()
    try:
        conn = psycopg.connect(owner_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise MigrationError(
            f"cannot connect to PostgreSQL to migrate the schema ({error}); check "
            "LOGISTREAM_DATABASE_URL or run `logistream stack up`"
        ) from error
    with conn:
        done = apply_migrations(conn, migrations)
        for short, role in (("bridge", BRIDGE_ROLE), ("reader", READER_ROLE)):
            set_role_password(conn, role, role_password(settings, short))
    return done


# Connection errors that a wait will not cure: report them at once.
_CONFIG_ERRORS: Final = ("authentication failed", "no password supplied", "does not exist")


def migrate_waiting(
    settings: Settings, owner_url: str, deadline_s: float, stopping: Callable[[], bool]
) -> bool:
    """:func:`migrate`, waiting up to ``deadline_s`` for PostgreSQL to come up (a service
    started before its database, or during an outage); False if ``stopping`` meanwhile."""
    from logistream.backoff import Backoff

    backoff = Backoff(cap_s=5.0)
    end = time.monotonic() + deadline_s
    while not stopping():
        try:
            applied = migrate(settings, owner_url)
        except MigrationError as error:
            text = str(error)
            if (
                not text.startswith("cannot connect")
                or any(marker in text for marker in _CONFIG_ERRORS)
                or time.monotonic() > end
            ):
                raise
            delay = backoff.next_delay()
            log.warning("%s; retrying in %.1f s", text, delay)
            until = time.monotonic() + delay
            while not stopping() and time.monotonic() < until:
                time.sleep(0.1)
            continue
        if applied:
            log.info("schema migrated: %s", ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
        return True
    return False
