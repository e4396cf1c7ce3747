"""pg_dump / pg_restore: finding the right major version, and running them with progress.

They are clients: they run as the calling user (root included). The password goes to them in
``PGPASSWORD``, never on the command line (``ps`` shows arguments to every user).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from logistream.errors import BackupError, PrerequisiteError

Echo = Callable[[str], None]
_VERSION_RE: Final = re.compile(r"\b(\d+)(?:\.(\d+))?")
_PROGRESS_EVERY_S: Final = 1.0


def _major_of(binary: str) -> int | None:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    match = _VERSION_RE.search(out.split(")")[-1] if ")" in out else out)
    return int(match.group(1)) if match else None


def client_version(binary: str) -> str:
    """``pg_dump (PostgreSQL) 15.14 (Debian …)`` -> ``15.14``."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    parts = out.split()
    return parts[2] if len(parts) > 2 else out.strip()


def client_bin(program: str, server_major: int) -> str:
    """``program`` of the server's major version, else the oldest newer one installed.

    pg_dump refuses a server newer than itself, and a dump restores with a pg_restore at least
    as new as the pg_dump that made it; the same major as the server is the safe choice.
    """
    found: dict[int, str] = {}
    for candidate in Path("/usr/lib/postgresql").glob(f"*/bin/{program}"):
        if candidate.parts[-3].isdigit():
            found[int(candidate.parts[-3])] = str(candidate)
    on_path = shutil.which(program)
    if on_path:
        major = _major_of(on_path)
        if major is not None:
            found.setdefault(major, on_path)
    usable = sorted(m for m in found if m >= server_major)
    if not usable:
        raise PrerequisiteError(
            f"{program} for PostgreSQL {server_major} not found (have: "
            f"{', '.join(str(m) for m in sorted(found)) or 'none'}): install it with "
            f"`apt-get install postgresql-client-{server_major}`"
        )
    return found[usable[0]]


def split_password(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo without the password, and the environment that carries it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {"PGPASSWORD": str(password)} if password else {}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def run_with_progress(
    argv: Sequence[str],
    *,
    env_extra: dict[str, str],
    marker: re.Pattern[str],
    total: int,
    label: str,
    echo: Echo,
) -> None:
    """Run a ``--verbose`` pg_dump/pg_restore; one progress line per second from its log.

    ``marker`` matches the log line that starts one table's data (group 1: the table).
    A failure raises :class:`BackupError` with the tool's own error lines.
    """
    env = dict(os.environ)
    env.update(env_extra)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    program = Path(argv[0]).name
    proc = subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    assert proc.stderr is not None
    done = shown = 0
    last = time.monotonic()
    errors: list[str] = []
    tail: deque[str] = deque(maxlen=8)
    for line in proc.stderr:
        line = line.rstrip()
        tail.append(line)
        match = marker.search(line)
        if match:
            done += 1
            now = time.monotonic()
            if now - last >= _PROGRESS_EVERY_S or done == total:
                echo(f"  {label} {done}/{total} tables ({match.group(1)})")
                last, shown = now, done
        elif "error:" in line or "FATAL" in line:
            errors.append(line)
    code = proc.wait()
    if code == 0 and done != shown:
        echo(f"  {label} {done} tables")
    if code != 0:
        detail = "; ".join(errors[-5:] or list(tail))
        raise BackupError(f"{program} failed (exit {code}): {detail}")
