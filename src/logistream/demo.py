"""``logistream demo``: the whole product on one machine, stopped cleanly by one Ctrl+C.

Starts the local stack (what is not already running), then the speed layer, the data bridge,
the simulator, the dashboard and the integration API as child processes with their logs under
the stack home (with ``--via mqtt|teltonika`` also that device gateway, and the simulator's
trucks report through it as their registry devices), and recomputes the batch views every
minute (:class:`BatchSchedule`: only the trips that changed, and never two runs at once).
Ctrl+C (or SIGTERM) stops a batch run in progress (it is rolled back), then the children in
order — producer first, so nothing is left half-sent — and then the servers this command
started. The children run in process groups of their own, so a terminal's Ctrl+C reaches the
demo alone and each child gets exactly one stop; a second Ctrl+C kills them and the demo.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

import typer

from logistream import shutdown
from logistream.config import Settings, get_settings

STOP_TIMEOUT_S = 30.0
BATCH_EVERY_S = 60.0
"""How often the demo recomputes the batch views from the archive."""
BATCH_ARGS = ("batch", "--changed")
"""Each minute, only the trips with readings archived since the last run: a full recompute
grows with the archive (5 s at the start, over 7 minutes after an hour and more)."""


VIAS: Final = ("kafka", "mqtt", "teltonika")
TELTONIKA_PORT: Final = 5027
"""Where the demo's Teltonika gateway listens (on 127.0.0.1: the demo's trackers are local)."""
READY_TIMEOUT_S: Final = 90.0
SERVICE_NAMES: Final = {
    "kafka": "Kafka",
    "postgres": "PostgreSQL",
    "redis": "Redis",
    "mosquitto": "Mosquitto",
}


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    ready: str | None = None
    """Text its log shows once it serves: the next children start only then (a simulator
    publishing before the gateway subscribed would lose its first readings)."""


def starting_text(service_names: list[str]) -> str:
    """The line said while the stack starts, naming the servers this machine runs."""
    if not service_names:
        return "using the servers the LOGISTREAM_* URLs name …"
    names = ", ".join(SERVICE_NAMES.get(name, name) for name in service_names)
    return f"starting the local stack ({names}) …"


def _logistream(*args: str) -> list[str]:
    return [sys.executable, "-m", "logistream", *args]


def _children(
    settings: Settings,
    port: int,
    api_port: int,
    speedup: float,
    trucks: int | None,
    via: str = "kafka",
    shipments: bool = True,
) -> list[Child]:
    logs = settings.home.resolve() / "logs"
    # With shipments, the simulator stores and publishes its trips' shipments before it streams.
    simulate = ["simulate", "--speedup", str(speedup)]
    simulate += ["--shipments" if shipments else "--no-shipments"]
    if trucks:
        simulate += ["--trucks", str(trucks)]
    gateways: list[Child] = []
    if via == "mqtt":
        gateway = _logistream("gateway", "mqtt", "--instance", "demo")
        gateways.append(Child("gateway", gateway, logs / "gateway.log", ready="MQTT gateway ready"))
        simulate += ["--via", "mqtt"]
    elif via == "teltonika":
        gateway = _logistream(
            "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(TELTONIKA_PORT)
        )
        gateways.append(Child("gateway", gateway, logs / "gateway.log", ready="listening on"))
        simulate += ["--via", "teltonika", "--gateway-address", f"127.0.0.1:{TELTONIKA_PORT}"]
    return [
        Child("speed", _logistream("speed"), logs / "speed.log"),
        Child("bridge", _logistream("bridge"), logs / "bridge.log"),
        Child("dashboard", _logistream("dashboard", "--port", str(port)), logs / "dashboard.log"),
        Child("api", _logistream("api", "--port", str(api_port)), logs / "api.log"),
        *gateways,
        Child("simulator", _logistream(*simulate), logs / "simulator.log"),
    ]


def _wait_ready(child: Child, log_from: int, stop: threading.Event) -> None:
    """Until ``child``'s log (past ``log_from``) says it is ready; it dying or not getting
    ready in time stops the demo in one line."""
    assert child.ready is not None
    assert child.process is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stop.is_set():
        with child.log.open("rb") as log:
            log.seek(log_from)
            if child.ready.encode() in log.read():
                return
        if child.process.poll() is not None:
            raise typer.Exit(_failed(child, f"stopped (exit {child.process.returncode})"))
        if time.monotonic() > deadline:
            raise typer.Exit(_failed(child, f"not ready in {READY_TIMEOUT_S:.0f} s"))
        stop.wait(0.2)


def _failed(child: Child, what: str) -> int:
    typer.echo(f"{child.name} {what}; see {child.log}", err=True)
    return 1


def _stop(children: list[Child]) -> None:
    # Producer first, then the gateway it sent through, then the consumers drain what it sent,
    # the readers last.
    for name in ("simulator", "gateway", "speed", "bridge", "api", "dashboard"):
        for child in children:
            if child.name != name or child.process is None or child.process.poll() is not None:
                continue
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                typer.echo(
                    f"{child.name} did not stop in {STOP_TIMEOUT_S:.0f} s; killing it", err=True
                )
                child.process.kill()
                child.process.wait()
            typer.echo(f"stopped {child.name} (exit {child.process.returncode})", err=True)


class BatchSchedule:
    """The demo's batch runs: one every ``every_s``, a child process at a time.

    A run still going when the next is due makes that one skipped, not queued: the next starts
    on the schedule after it. A stop ends a run in progress cleanly (it rolls back).
    """

    def __init__(self, log: Path, every_s: float = BATCH_EVERY_S, argv: list[str] | None = None):
        self.log = log
        self.every_s = every_s
        self.argv = argv or _logistream(*BATCH_ARGS)
        self.process: subprocess.Popen[bytes] | None = None
        self.next_at = time.monotonic() + every_s
        self.skipped = 0

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tick(self) -> None:
        """Start the run that is due, or skip it if the last one is still going."""
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every_s
        if self.running():
            self.skipped += 1
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            # Its own process group: a Ctrl+C at the terminal reaches the demo, which stops the
            # run with one signal (a second one would kill it).
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=0,
            )

    def stop(self) -> None:
        """Ask a run in progress to stop (SIGTERM: it cancels its statements and rolls back),
        and wait for it; kill it only if it does not end in ``STOP_TIMEOUT_S``."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            typer.echo(f"batch did not stop in {STOP_TIMEOUT_S:.0f} s; killing it", err=True)
            process.kill()
            process.wait()
        typer.echo(f"stopped batch (exit {process.returncode})", err=True)


def supervise(children: list[Child], batches: BatchSchedule, stop: threading.Event) -> int:
    """Until ``stop`` is set or a child dies: run the batch schedule and watch the children.
    A batch run in progress is stopped before returning; return the exit code."""
    exit_code = 0
    try:
        while not stop.wait(1.0):
            batches.tick()
            for child in children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    typer.echo(
                        f"{child.name} stopped unexpectedly (exit {code}); see {child.log}",
                        err=True,
                    )
                    exit_code = 1
            if exit_code:
                break
    finally:
        batches.stop()
    return exit_code


DEMO_USER = "demo"


def _ensure_demo_user(settings: Settings) -> tuple[str, str]:
    """Migrate the archive, make sure an admin ``demo`` can sign in, and give ``demo`` a fresh
    API token (read, ack; the last run's is revoked); return the password and the token."""
    from logistream.api.token_store import create_token, revoke_token
    from logistream.config import resolve_endpoints
    from logistream.schema.migrate import migrate
    from logistream.serving import users
    from logistream.stack.secrets import ensure_secrets

    owner_url = resolve_endpoints(settings).database_url
    migrate(settings, owner_url)
    password = ensure_secrets(settings)["demo_password"]
    with users.connect(owner_url) as conn:
        if DEMO_USER in {user.name for user in users.list_users(conn)}:
            users.set_password(conn, DEMO_USER, password)
        else:
            users.add_user(conn, DEMO_USER, "admin", password)
        revoke_token(conn, DEMO_USER)
        token = create_token(conn, DEMO_USER, ["read", "ack"])
    return password, token


def _kill_children_on_second_stop(children: list[Child], batches: BatchSchedule) -> None:
    """Within :func:`shutdown.stop_on_signals`: a first SIGINT/SIGTERM asks for the clean stop
    as usual; a second kills the children (in their own process groups, a terminal's signal
    no longer reaches them) and a batch run, then the demo, so none is left behind."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if not shutdown.stop_requested():
            shutdown.request_stop()
            return
        processes = [child.process for child in children] + [batches.process]
        for process in processes:
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    for signum in shutdown.SIGNALS:
        signal.signal(signum, handle)


def run_demo(
    port: int,
    api_port: int,
    speedup: float,
    trucks: int | None,
    keep_stack: bool,
    via: str = "kafka",
    shipments: bool = True,
) -> int:
    """Run everything until Ctrl+C; return the exit code."""
    from logistream.stack.manager import Stack

    settings = get_settings()
    stack = Stack(settings)
    already_running = {s.name for s in stack.status() if s.state != "stopped"}
    typer.echo(starting_text([s.name for s in stack.local_services()]), err=True)
    stack.up()
    password, token = _ensure_demo_user(settings)

    children = _children(settings, port, api_port, speedup, trucks, via, shipments)
    batches = BatchSchedule(settings.home.resolve() / "logs" / "batch.log")
    # First signal: stop the children in order and the servers this command started, exit 0.
    # Second: kill the children and the demo at once.
    with shutdown.stop_on_signals() as stop:
        _kill_children_on_second_stop(children, batches)
        exit_code = 0
        try:
            for child in children:
                child.log.parent.mkdir(parents=True, exist_ok=True)
                with child.log.open("ab") as log:
                    log_from = log.tell()
                    # Its own process group, as a batch run's: a Ctrl+C at the terminal reaches
                    # only the demo, which stops each child with one SIGTERM in order. Had it
                    # reached them too, that SIGTERM was their second stop and killed them.
                    child.process = subprocess.Popen(
                        child.argv,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        process_group=0,
                    )
                typer.echo(f"started {child.name:<9} (log: {child.log})", err=True)
                if child.ready is not None:
                    _wait_ready(child, log_from, stop)
            typer.echo(
                f"\nLogiStream control room: http://localhost:{port}\n"
                f"Sign in as {DEMO_USER!r} with password {password!r} (kept in "
                f"{settings.secrets_file}); add people with `logistream users add`.\n"
                f"Integration API: http://localhost:{api_port}/docs; token of {DEMO_USER!r} "
                f"(read, ack; new each run): {token}\n"
                f"  curl -N -H 'Authorization: Bearer {token}' http://localhost:{api_port}/v1/stream\n"
                "Press Ctrl+C to stop everything.\n"
            )
            batches.next_at = time.monotonic() + batches.every_s
            exit_code = supervise(children, batches, stop)
        finally:
            typer.echo("stopping …", err=True)
            _stop(children)
            if not keep_stack:
                for service in reversed(stack.local_services()):
                    if service.name not in already_running:
                        service.down()
                        typer.echo(f"stopped {service.name}", err=True)
        return exit_code


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        port: int = typer.Option(8501, help="Port of the dashboard."),
        api_port: int = typer.Option(8600, help="Port of the integration API."),
        speedup: float = typer.Option(60.0, help="Simulated seconds per wall-clock second."),
        trucks: int | None = typer.Option(None, help="Fleet size (default: the registry's fleet)."),
        keep_stack: bool = typer.Option(False, help="Leave the stack running after Ctrl+C."),
        via: str = typer.Option(
            "kafka",
            help="kafka: the simulator produces directly. mqtt / teltonika: the demo also runs "
            "that device gateway and the trucks with such a device report through it.",
        ),
        shipments: bool = typer.Option(
            True,
            "--shipments/--no-shipments",
            help="The simulator creates its trips' shipments (3-drop vaccines Nairobi-Kisumu, "
            "flowers Naivasha-JKIA, a milk round) before it streams.",
        ),
    ) -> None:
        """Run the stack, simulator, speed layer, bridge, dashboard and API. Ctrl+C stops all."""
        if via not in VIAS:
            raise typer.BadParameter(f"one of {', '.join(VIAS)}, not {via!r}", param_hint="--via")
        started = time.monotonic()
        code = run_demo(port, api_port, speedup, trucks, keep_stack, via, shipments)
        typer.echo(f"demo ran {time.monotonic() - started:.0f} s", err=True)
        raise typer.Exit(code)
