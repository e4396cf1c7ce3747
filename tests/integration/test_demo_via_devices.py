"""`logistream demo --via mqtt|teltonika`: the demo fleet through the real device gateways.

Each run starts, its device trucks' readings reach the archive with their probe ids (KCB 781C's
"front" and "rear" through Mosquitto and the MQTT gateway; KBX 123A's through the Teltonika
gateway), and one SIGINT (a Ctrl+C) stops every child it started (gateway, simulator, speed,
bridge, dashboard, API, a batch run) with exit 0 and a short stop message.

One stack of its own serves both runs (``--keep-stack``), so the second does not pay for a
second start of Kafka, PostgreSQL, Redis and Mosquitto.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from helpers import wait_until
from logistream.config import Settings, child_env, resolve_endpoints
from logistream.stack.manager import Stack
from logistream.stack.process import free_port, pid_alive
from logistream.stack.temporary import isolated_settings

LOGISTREAM = str(Path(sys.executable).with_name("logistream"))
DEVICE_TRUCKS = {"mqtt": "KCB 781C", "teltonika": "KBX 123A"}
"""A truck of the registry whose device speaks that protocol, with probes "front" and "rear"."""
CHILDREN = ("gateway", "simulator", "speed", "bridge", "api", "dashboard")


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A stack of the module's own (with Mosquitto), up before the first demo and down after
    the last."""
    settings = isolated_settings(tmp_path_factory.mktemp("via") / "home", kafka_heap="512m")
    stack = Stack(settings)
    stack.up()
    try:
        yield settings
    finally:
        stack.down()
        stack.postgres.destroy()


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children, ...), as /proc lists them now."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _probe_counts(url: str, truck: str) -> dict[str, int]:
    """How many readings of each named probe of ``truck`` the archive holds (none before the
    demo migrated it)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('readings')").fetchone() == (None,):
            return {}
        rows = conn.execute(
            "SELECT probe_id, count(*) FROM readings WHERE truck_id = %s AND probe_id <> '' "
            "GROUP BY probe_id",
            (truck,),
        ).fetchall()
    return {str(probe): int(count) for probe, count in rows}


def _ports() -> list[str]:
    return ["--port", str(free_port()), "--api-port", str(free_port())]


def _start_demo(settings: Settings, via: str, out: Path) -> subprocess.Popen[bytes]:
    """``logistream demo --via via`` in a process group of its own, as a shell runs a command
    in the foreground: ``os.killpg`` is then what a Ctrl+C at the terminal does."""
    with out.open("wb") as log:
        return subprocess.Popen(
            [LOGISTREAM, "demo", "--via", via, "--keep-stack", "--speedup", "30", *_ports()],
            env=child_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )


def _children_once_archiving(
    settings: Settings, demo: subprocess.Popen[bytes], via: str
) -> set[int]:
    """Wait until the via's device truck has front and rear readings archived; return the
    demo's processes below it then (not the stack's servers)."""
    url = resolve_endpoints(settings).database_url
    truck = DEVICE_TRUCKS[via]
    before = _probe_counts(url, truck)  # an earlier demo's, on the same stack

    def newly_archived() -> bool:
        now = _probe_counts(url, truck)
        return all(now.get(probe, 0) > before.get(probe, 0) for probe in ("front", "rear"))

    wait_until(
        newly_archived,
        timeout=150,
        interval=1.0,
        what=f"new front and rear readings of {truck} in the archive",
    )
    children = _descendants(demo.pid) - {s.pid for s in Stack(settings).status() if s.pid}
    # speed, bridge, dashboard, api, gateway, simulator (and what they start).
    assert len(children) >= len(CHILDREN), children
    return children


def _ended(demo: subprocess.Popen[bytes], out: Path) -> str:
    if demo.poll() is None:
        demo.kill()
        demo.wait()
    printed = out.read_text(errors="replace")
    print(printed[-4000:])
    return printed


@pytest.mark.parametrize(
    ("via", "stop"), [("mqtt", "ctrl-c"), ("teltonika", "sigterm")], ids=["mqtt", "teltonika"]
)
def test_demo_via_a_gateway_archives_the_probes_and_one_stop_ends_every_child(
    demo_stack: Settings, tmp_path: Path, via: str, stop: str
) -> None:
    out = tmp_path / "demo.out"
    demo = _start_demo(demo_stack, via, out)
    try:
        children = _children_once_archiving(demo_stack, demo, via)
        if stop == "ctrl-c":
            # A terminal's Ctrl+C: SIGINT to the foreground process group.
            os.killpg(demo.pid, signal.SIGINT)
        else:
            demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=90)
    finally:
        printed = _ended(demo, out)
    assert code == 0, f"demo --via {via} exited {code}"
    left = sorted(pid for pid in children if pid_alive(pid))
    assert not left, f"children left running: {left}"
    stopping = printed[printed.index("stopping …") :]
    assert "Traceback" not in printed
    for name in CHILDREN:
        assert f"stopped {name} (exit 0)" in stopping, f"{name} did not stop cleanly"
    assert "did not stop" not in stopping
    assert "unexpectedly" not in printed
    # Short: one line per child (and a batch run, if one was going) and the duration.
    assert len(stopping.strip().splitlines()) <= len(CHILDREN) + 3, stopping


def test_a_second_ctrl_c_kills_the_demo_and_every_child(
    demo_stack: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "demo.out"
    demo = _start_demo(demo_stack, "mqtt", out)
    try:
        children = _children_once_archiving(demo_stack, demo, "mqtt")
        os.killpg(demo.pid, signal.SIGINT)
        wait_until(lambda: "stopping …" in out.read_text(), timeout=30, what="the demo stopping")
        os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=30)
        wait_until(
            lambda: not [pid for pid in children if pid_alive(pid)],
            timeout=10,
            what="the children to be killed",
        )
    finally:
        _ended(demo, out)
    assert code == -signal.SIGINT
