"""A private PostgreSQL 15 instance for the stack, on its own port, never the system server.

PostgreSQL refuses to run as root. When the stack runs as root (CI does), initdb and the server
run as the ``postgres`` system user, with the data in a folder that user owns and can reach
(``/var/tmp/logistream-postgres/<id>``, linked from the stack home): a checkout under a private
home folder cannot be entered by that user.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
from pathlib import Path

from logistream.config import Settings
from logistream.stack import prereqs
from logistream.stack.process import require_free_port, run_checked, running_as_root, wait_until
from logistream.stack.secrets import ensure_secrets
from logistream.stack.service import ServiceStatus

START_TIMEOUT_S = 90.0
SUPERUSER = "logistream"
ROOT_DATA_PARENT = Path("/var/tmp/logistream-postgres")  # noqa: S108 - owned by postgres, 0700
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
        self.link = (settings.home / "postgres").absolute()
        if running_as_root():
            stack_id = hashlib.sha256(str(settings.home.resolve()).encode()).hexdigest()[:12]
            self.root = ROOT_DATA_PARENT / stack_id
        else:
            self.root = self.link
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"

    def _as_server_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if running_as_root() else argv

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if running_as_root():
            ROOT_DATA_PARENT.chmod(0o755)
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o700)
            self.link.parent.mkdir(parents=True, exist_ok=True)
            if not self.link.is_symlink():
                self.link.symlink_to(self.root)

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
        from logistream.stack.process import pid_alive

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

    def destroy(self) -> None:
        """Remove the data folder (tests' temporary stacks only)."""
        self.down()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.link.is_symlink():
            self.link.unlink()

    def status(self) -> ServiceStatus:
        pid = self.pid()
        address = (
            f"postgresql://{SUPERUSER}@127.0.0.1:{self.settings.postgres_port}/"
            f"{self.settings.database_name}"
        )
        return ServiceStatus(
            self.name, "running" if pid else "stopped", address, pid, str(self.log_path)
        )
