"""``logistream pgadmin``: pgAdmin 4 from PyPI, in its own virtualenv, with LogiStream registered.

pgAdmin's pins (Flask, SQLAlchemy, psycopg, ...) clash with ours, so it gets a virtualenv of its
own, made once and reused (``build/pgadmin-venv`` of this checkout by default). It runs in
server mode on localhost: its login is the DBA's, from ``LOGISTREAM_PGADMIN_EMAIL`` /
``LOGISTREAM_PGADMIN_PASSWORD`` or the stack's secrets file; the LogiStream database is
pre-registered (``servers.json``) with a password file, so the archive is one click away.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from logistream.config import Settings, read_secrets
from logistream.errors import ConfigError, LogiStreamError

PGADMIN_VERSION: Final = "9.18"
DEFAULT_EMAIL: Final = "dba@logistream.co.ke"
REPO_ROOT: Final = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str


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


def default_venv() -> Path:
    """``build/pgadmin-venv`` of this checkout (set LOGISTREAM_PGADMIN_VENV to move it)."""
    return Path(os.environ.get("LOGISTREAM_PGADMIN_VENV", REPO_ROOT / "build" / "pgadmin-venv"))


def login(settings: Settings, environ: dict[str, str] | None = None) -> Login:
    """The pgAdmin login: from the environment, else the stack's secrets file."""
    env = os.environ if environ is None else environ
    secrets = read_secrets(settings)
    email = env.get("LOGISTREAM_PGADMIN_EMAIL") or secrets.get("pgadmin_email") or DEFAULT_EMAIL
    password = (
        env.get("LOGISTREAM_PGADMIN_PASSWORD")
        or secrets.get("pgadmin_password")
        or secrets.get("postgres_password")
    )
    if not password:
        raise ConfigError(
            "LOGISTREAM_PGADMIN_PASSWORD: not set and no password in the stack's secrets file "
            f"{settings.secrets_file}; set it (at least 6 characters) or run `logistream stack up`"
        )
    return Login(email, password)


def servers_json(database_url: str, passfile: Path) -> dict[str, object]:
    """pgAdmin's import format, naming the LogiStream database (no password inside)."""
    url = urlsplit(database_url)
    return {
        "Servers": {
            "1": {
                "Name": "LogiStream archive",
                "Group": "LogiStream",
                "Host": url.hostname or "127.0.0.1",
                "Port": url.port or 5432,
                "MaintenanceDB": (url.path or "/postgres").lstrip("/") or "postgres",
                "Username": unquote(url.username or "postgres"),
                "SSLMode": "prefer",
                "PassFile": str(passfile),
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


def ensure_venv(layout: Layout, echo: bool = True) -> None:
    """Create the virtualenv and install pgAdmin 4 once (about a minute and ~300 MB)."""
    if layout.stamp.exists() and layout.python.exists():
        return
    if echo:
        print(f"installing pgAdmin 4 {PGADMIN_VERSION} into {layout.venv} (once)", file=sys.stderr)
    try:
        if not layout.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(layout.venv)], check=True)
        subprocess.run(
            [str(layout.python), "-m", "pip", "install", "-q", f"pgadmin4=={PGADMIN_VERSION}"],
            check=True,
        )
    except subprocess.CalledProcessError as error:
        raise LogiStreamError(
            f"could not install pgAdmin 4 into {layout.venv} ({error}); check the network "
            "access to PyPI, or remove that folder and try again"
        ) from error
    layout.stamp.touch()


def prepare(layout: Layout, database_url: str, port: int, who: Login) -> dict[str, str]:
    """Write the config, the account and the registered server; the environment to run with."""
    layout.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    layout.config.write_text(config_text(layout.data, port))
    passfile = layout.data / "pgpass"
    passfile.write_text(pgpass_line(database_url) + "\n")
    passfile.chmod(0o600)
    servers = layout.data / "servers.json"
    servers.write_text(json.dumps(servers_json(database_url, passfile), indent=2))
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
