"""Starting, finding and stopping the local stack's server processes by their pid files."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from logistream.errors import StackError


def running_as_root() -> bool:
    return os.geteuid() == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def require_free_port(port: int, setting: str) -> None:
    """Refuse to start a server on a port another program already holds."""
    if port_open(port):
        raise StackError(
            f"port {port} is already in use by another program: stop it, or choose another "
            f"port with {setting}"
        )


def start_detached(
    argv: Sequence[str], log_path: Path, pid_path: Path, env: dict[str, str] | None = None
) -> int:
    """Start a server in its own session (it outlives this command) and record its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.write_text(f"{process.pid}\n")
    return process.pid


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def read_pid(pid_path: Path, marker: str) -> int | None:
    """The pid in ``pid_path`` if that process runs and its command line contains ``marker``.

    The marker (a path of this stack) guards against a recycled pid naming somebody else's process.
    """
    try:
        pid = int(pid_path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid_alive(pid) and marker in _cmdline(pid):
        return pid
    return None


def stop_pid(pid: int, timeout_s: float = 60.0) -> None:
    """SIGTERM, wait for a clean exit, then SIGKILL what is left."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            _reap(pid)
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while pid_alive(pid):
        time.sleep(0.1)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(check: Callable[[], bool], timeout_s: float, failure: str) -> None:
    """Poll ``check`` until it is true; raise StackError(``failure``) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: S110 - not ready yet is any error while starting
            pass
        if time.monotonic() > deadline:
            raise StackError(failure)
        time.sleep(0.25)


def run_checked(argv: Sequence[str], what: str, log_hint: str = "") -> str:
    """Run a short command; on failure raise StackError with its output's last lines."""
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise StackError(f"{what} failed (exit {result.returncode}): {tail} {log_hint}".strip())
    return result.stdout
