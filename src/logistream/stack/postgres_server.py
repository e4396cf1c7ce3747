"""A private PostgreSQL 15 instance for the stack, on its own port, never the system server.

PostgreSQL refuses to run as root. When the stack runs as root (CI does), initdb and the server
run as the ``postgres`` system user, with the data in a folder that user owns and can reach
(``/var/tmp/logistream-postgres/<id>``, linked from the stack home): a checkout under a private
home folder cannot be entered by that user. That folder names its stack home in a marker file, so
the folder of a stack whose home is gone (a test run that was killed) is found and removed.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
from pathlib import Path

from logistream.config import Settings
from logistream.errors import StackError
from logistream.stack import prereqs
from logistream.stack.process import (
    pid_alive,
    require_free_port,
    run_checked,
    running_as_root,
    stop_pid,
    wait_until,
)
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import ServiceStatus

START_TIMEOUT_S = 90.0
SUPERUSER = "logistream"
ROOT_DATA_PARENT = Path("/var/tmp/logistream-postgres")  # noqa: S108 - owned by postgres, 0700
HOME_MARKER = "stack-home"
"""In a root-run stack's data folder: the stack home it belongs to (one absolute path)."""
TUNING = """
# LogiStream local stack
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
wal_compression = on
"""


class PostgresServer:
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()
        self.link = (settings.home / "postgres").absolute()
        if running_as_root():
            stack_id = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
            self.root = ROOT_DATA_PARENT / stack_id
        else:
            self.root = self.link
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"

    def _as_server_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if running_as_root() else argv

    def _prepare_root(self) -> None:
        if running_as_root():
            remove_orphans()
        self.root.mkdir(parents=True, exist_ok=True)
        if running_as_root():
            ROOT_DATA_PARENT.chmod(0o755)
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o700)
            self.link.parent.mkdir(parents=True, exist_ok=True)
            if not self.link.is_symlink():
                self.link.symlink_to(self.root)

    def _mark_home(self) -> None:
        """Name the stack home in the data folder (a folder from before markers gets one too)."""
        if running_as_root() and self.root.is_dir():
            (self.root / HOME_MARKER).write_text(f"{self.home}\n")

    def _initdb_once(self, password: str) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self._prepare_root()
        pwfile = self.root / "initdb.pw"
        pwfile.write_text(password + "\n")
        if running_as_root():
            owner = pwd.getpwnam("postgres")
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        pwfile.chmod(0o600)
        try:
            run_checked(
                self._as_server_user(
                    [
                        prereqs.postgres_bin("initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        SUPERUSER,
                        "--auth=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "-E",
                        "UTF8",
                        "--no-locale",
                    ]
                ),
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(TUNING)

    def _pg_ctl(self, *args: str) -> list[str]:
        return self._as_server_user(
            [prereqs.postgres_bin("pg_ctl"), "-D", str(self.data_dir), *args]
        )

    def pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid) else None

    def url(self, password: str, database: str | None = None) -> str:
        db = database or self.settings.database_name
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.settings.postgres_port}/{db}"

    def _answers(self, password: str) -> bool:
        import psycopg

        with psycopg.connect(self.url(password, "postgres"), connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def _ensure_database(self, password: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(password, "postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.database_name,)
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(
                        sql.Identifier(self.settings.database_name)
                    )
                )

    def up(self) -> None:
        password = ensure_secrets(self.settings)["postgres_password"]
        if self.pid() is None:
            require_free_port(self.settings.postgres_port, "LOGISTREAM_POSTGRES_PORT")
            self._initdb_once(password)
            self._mark_home()
            run_checked(
                self._pg_ctl(
                    "-l",
                    str(self.log_path),
                    "-o",
                    f"-p {self.settings.postgres_port}",
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT_S)),
                    "start",
                ),
                "starting PostgreSQL",
                f"(see {self.log_path})",
            )
        wait_until(
            lambda: self._answers(password),
            START_TIMEOUT_S,
            f"PostgreSQL did not answer on port {self.settings.postgres_port}; see {self.log_path}",
        )
        self._ensure_database(password)

    def down(self) -> None:
        if self.pid() is not None:
            run_checked(self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop"), "stopping PostgreSQL")

    def destroy(self) -> list[Path]:
        """Stop the server and remove its data folder and the link to it; the paths removed.

        A server that does not stop cleanly is killed: its data is going anyway.
        """
        try:
            self.down()
        except StackError:
            pid = self.pid()
            if pid is not None:
                stop_pid(pid, timeout_s=10.0)
        removed: list[Path] = []
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
            if self.root.exists():
                raise StackError(f"could not remove PostgreSQL's data folder {self.root}")
            removed.append(self.root)
        if self.link.is_symlink():
            self.link.unlink()
            removed.append(self.link)
        return removed

    def status(self) -> ServiceStatus:
        pid = self.pid()
        address = (
            f"postgresql://{SUPERUSER}@127.0.0.1:{self.settings.postgres_port}/"
            f"{self.settings.database_name}"
        )
        return ServiceStatus(
            self.name, "running" if pid else "stopped", address, pid, str(self.log_path)
        )


def remove_orphans(parent: Path = ROOT_DATA_PARENT) -> list[Path]:
    """Remove the root-run data folders under ``parent`` whose stack home is gone; those paths.

    Without its home (and the passwords in it) such a folder can never be used again: it is what
    a killed test run or benchmark leaves. A folder without a marker (from before markers, or
    being set up right now) or whose server still runs is left alone.
    """
    removed: list[Path] = []
    try:
        folders = sorted(parent.iterdir())
    except OSError:
        return removed
    for folder in folders:
        try:
            home = Path((folder / HOME_MARKER).read_text().strip())
        except OSError:
            continue
        if not home.is_absolute() or home.exists() or _server_alive(folder / "data"):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def _server_alive(data_dir: Path) -> bool:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return pid_alive(pid)
