"""``logistream pgadmin``: pgAdmin 4 from PyPI, in its own virtualenv, with LogiStream registered.

pgAdmin's pins (Flask, SQLAlchemy, psycopg, ...) clash with ours, so it gets a virtualenv of its
own, made once and reused (``build/pgadmin-venv`` of this checkout by default; pip's progress
is shown, it takes a few minutes). It runs in server mode on localhost: its login is the DBA's,
from ``LOGISTREAM_PGADMIN_EMAIL`` / ``LOGISTREAM_PGADMIN_PASSWORD`` or the stack's secrets file.

The archive is pre-registered (``servers.json``) as the read-only ``logistream_reader`` role, so
browsing it cannot alter the audit trail, with a password file pgAdmin really reads: in server
mode pgAdmin resolves a server's ``passfile`` inside the signed-in user's storage folder
(``<STORAGE_DIR>/<email with @ as _>/``) and silently ignores any other path, which leaves the
server asking for a password nobody was told. So the file goes there, named relative to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from logistream.config import DATABASE_ROLES, Settings, read_secrets
from logistream.errors import ConfigError, LogiStreamError

PGADMIN_VERSION: Final = "9.18"
DEFAULT_EMAIL: Final = "dba@logistream.co.ke"
REPO_ROOT: Final = Path(__file__).resolve().parents[3]
PASSFILE_NAME: Final = "logistream.pgpass"
"""The password file's name inside the DBA's pgAdmin storage folder (as servers.json names it)."""


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    source: str
    """Where the password comes from, to tell the user (never the password itself)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where pgAdmin's program and data live."""

    venv: Path
    data: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def package(self) -> Path:
        return self.venv / "lib" / "python3.11" / "site-packages" / "pgadmin4"

    @property
    def stamp(self) -> Path:
        return self.venv / f".installed-pgadmin4-{PGADMIN_VERSION}"

    @property
    def config(self) -> Path:
        return self.data / "config_logistream.py"

    @property
    def storage(self) -> Path:
        return self.data / "storage"

    def passfile(self, email: str) -> Path:
        """Where pgAdmin looks for the registered server's password file of this user."""
        return self.storage / storage_folder(email) / PASSFILE_NAME


def storage_folder(email: str) -> str:
    """pgAdmin's storage folder name for a user (its ``preprocess_username``, pgAdmin 9)."""
    name = email if email and not email[0].isdigit() else f"pga_user_{email}"
    return name.replace("@", "_").replace("/", "slash").replace("\\", "slash")


def default_venv() -> Path:
    """``build/pgadmin-venv`` of this checkout (set LOGISTREAM_PGADMIN_VENV to move it)."""
    return Path(os.environ.get("LOGISTREAM_PGADMIN_VENV", REPO_ROOT / "build" / "pgadmin-venv"))


def login(settings: Settings, environ: dict[str, str] | None = None) -> Login:
    """The pgAdmin login: from the environment, else the stack's secrets file."""
    env = os.environ if environ is None else environ
    secrets = read_secrets(settings)
    email = env.get("LOGISTREAM_PGADMIN_EMAIL") or secrets.get("pgadmin_email") or DEFAULT_EMAIL
    found = [
        (env.get("LOGISTREAM_PGADMIN_PASSWORD"), "LOGISTREAM_PGADMIN_PASSWORD"),
        (secrets.get("pgadmin_password"), f'"pgadmin_password" in {settings.secrets_file}'),
        (secrets.get("postgres_password"), f'"postgres_password" in {settings.secrets_file}'),
    ]
    for password, source in found:
        if password:
            return Login(email, password, source)
    raise ConfigError(
        "LOGISTREAM_PGADMIN_PASSWORD: not set and no password in the stack's secrets file "
        f"{settings.secrets_file}; set it (at least 6 characters) or run `logistream stack up`"
    )


def as_role(database_url: str, user: str, password: str) -> str:
    """The database URL with another role and password (host, port, database and options kept)."""
    url = urlsplit(database_url)
    host = url.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if url.port:
        netloc += f":{url.port}"
    return urlunsplit((url.scheme, netloc, url.path, url.query, url.fragment))


def reader_url(database_url: str, reader_password: str) -> str:
    """The archive as the read-only role: what pgAdmin registers."""
    return as_role(database_url, DATABASE_ROLES["reader"], reader_password)


def servers_json(database_url: str, passfile: Path | str) -> dict[str, object]:
    """pgAdmin's import format, naming the LogiStream database (no password inside).

    ``passfile`` is read by pgAdmin relative to the user's storage folder (server mode): give
    the bare name, as :func:`prepare` does.
    """
    url = urlsplit(database_url)
    database = unquote((url.path or "/postgres").lstrip("/")) or "postgres"
    return {
        "Servers": {
            "1": {
                "Name": "LogiStream archive",
                "Group": "LogiStream",
                "Host": url.hostname or "127.0.0.1",
                "Port": url.port or 5432,
                "MaintenanceDB": database,
                "Username": unquote(url.username or "postgres"),
                "DBRestriction": database,  # the tree shows the archive, not the whole cluster
                "Comment": "Read-only: the archive as logistream_reader (set up by logistream).",
                # The current format: the pre-9 top-level "PassFile" is only read without it.
                "ConnectionParameters": {
                    "sslmode": "prefer",
                    "connect_timeout": 10,
                    "passfile": str(passfile),
                },
            }
        }
    }


def pgpass_line(database_url: str) -> str:
    url = urlsplit(database_url)

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(":", "\\:")

    return ":".join(
        esc(part)
        for part in (
            url.hostname or "127.0.0.1",
            str(url.port or 5432),
            "*",
            unquote(url.username or "postgres"),
            unquote(url.password or ""),
        )
    )


def config_text(data: Path, port: int) -> str:
    """pgAdmin's settings for this run (loaded through CONFIG_DISTRO_FILE_PATH)."""
    return "\n".join(
        [
            "# Written by `logistream pgadmin`; rewritten on every start.",
            "SERVER_MODE = True",
            f"DATA_DIR = {str(data)!r}",
            f"LOG_FILE = {str(data / 'pgadmin4.log')!r}",
            f"SQLITE_PATH = {str(data / 'pgadmin4.db')!r}",
            f"SESSION_DB_PATH = {str(data / 'sessions')!r}",
            f"STORAGE_DIR = {str(data / 'storage')!r}",
            f"AZURE_CREDENTIAL_CACHE_DIR = {str(data / 'azurecredentialcache')!r}",
            f"KERBEROS_CCACHE_DIR = {str(data / 'krbccache')!r}",
            "DEFAULT_SERVER = '127.0.0.1'",
            f"DEFAULT_SERVER_PORT = {port}",
            "UPGRADE_CHECK_ENABLED = False",
            "MASTER_PASSWORD_REQUIRED = False",
            "HELP_PATH = '../../docs/en_US/_build/html/'",
            "",
        ]
    )


PROGRESS_EVERY_S: Final = 15.0
"""Pip is silent while it unpacks ~120 packages (minutes): say it is alive at least this often."""


def clock(seconds: float) -> str:
    """Elapsed time as ``m:ss``."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def progress_line(line: str, elapsed_s: float) -> str | None:
    """What to show of one line of pip's output (None: nothing), prefixed with the time spent."""
    text = line.strip()
    if text.startswith("Installing collected packages:"):
        count = len(text.split(":", 1)[1].split(","))
        text = f"unpacking {count} packages (the longest step, no output for a while)"
    elif text.startswith("Successfully installed"):
        text = f"installed {len(text.split()) - 2} packages"
    elif not text.startswith(("Collecting ", "Downloading ")):
        return None
    return f"  pgAdmin install [{clock(elapsed_s)}] {text}"


def _pip_lines(argv: list[str], show: Callable[[str], None], tail: list[str]) -> int:
    """Run pip, showing its progress and a heartbeat while it is silent; its exit status."""
    import queue
    import threading

    started = time.monotonic()
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: Iterable[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    assert process.stdout is not None
    threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=PROGRESS_EVERY_S)
        except queue.Empty:
            show(f"  pgAdmin install [{clock(time.monotonic() - started)}] still working...")
            continue
        if line is None:
            break
        tail[:] = [*tail[-19:], line.rstrip()]
        shown = progress_line(line, time.monotonic() - started)
        if shown:
            show(shown)
    return process.wait()


def ensure_venv(layout: Layout, echo: bool = True) -> None:
    """Create the virtualenv and install pgAdmin 4 once (~3 minutes and ~600 MB), with progress."""
    if layout.stamp.exists() and layout.python.exists():
        return

    def show(text: str) -> None:
        if echo:
            print(text, file=sys.stderr, flush=True)

    show(
        f"installing pgAdmin 4 {PGADMIN_VERSION} into {layout.venv} (once; a few minutes, "
        "about 210 MB to download)"
    )
    started = time.monotonic()
    tail: list[str] = []
    try:
        if not layout.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(layout.venv)], check=True)
        argv = [str(layout.python), "-m", "pip", "install", "--progress-bar", "off"]
        status = _pip_lines([*argv, f"pgadmin4=={PGADMIN_VERSION}"], show, tail)
        if status != 0:
            raise subprocess.CalledProcessError(status, argv)
    except (subprocess.CalledProcessError, OSError) as error:
        last = "; ".join(tail[-3:])
        raise LogiStreamError(
            f"could not install pgAdmin 4 into {layout.venv} ({error}{': ' + last if last else ''})"
            "; check the network access to PyPI, or remove that folder and try again"
        ) from error
    layout.stamp.touch()
    show(f"pgAdmin 4 installed in {clock(time.monotonic() - started)}")


def write_passfile(layout: Layout, database_url: str, email: str) -> Path:
    """The registered server's password file, where pgAdmin reads it (private to this user)."""
    passfile = layout.passfile(email)
    passfile.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    passfile.touch(mode=0o600)
    passfile.chmod(0o600)  # libpq ignores a password file others can read
    passfile.write_text(pgpass_line(database_url) + "\n")
    # Earlier versions left the owner's password in a file pgAdmin never read.
    (layout.data / "pgpass").unlink(missing_ok=True)
    return passfile


def prepare(layout: Layout, database_url: str, port: int, who: Login) -> dict[str, str]:
    """Write the config, the account and the registered server; the environment to run with.

    ``database_url`` is the one pgAdmin registers (:func:`reader_url`: the read-only role).
    """
    layout.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    layout.config.write_text(config_text(layout.data, port))
    write_passfile(layout, database_url, who.email)
    servers = layout.data / "servers.json"
    servers.write_text(json.dumps(servers_json(database_url, PASSFILE_NAME), indent=2))
    env = {
        **os.environ,
        "CONFIG_DISTRO_FILE_PATH": str(layout.config),
        "PGADMIN_SETUP_EMAIL": who.email,
        "PGADMIN_SETUP_PASSWORD": who.password,
    }
    setup = str(layout.package / "setup.py")
    for argv in (
        [str(layout.python), setup, "setup-db"],
        [str(layout.python), setup, "load-servers", str(servers), "--user", who.email, "--replace"],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LogiStreamError(
                f"pgAdmin set-up failed ({' '.join(argv[2:3])}): {done.stderr.strip()[-500:]}; "
                f"see {layout.data / 'pgadmin4.log'}"
            )
    return env


def server_argv(layout: Layout) -> list[str]:
    return [str(layout.python), str(layout.package / "pgAdmin4.py")]
