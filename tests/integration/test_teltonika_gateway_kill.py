"""Exactly once through the Teltonika gateway: kill -9 it at seeded moments while a tracker sends.

A tracker (two probes) sends 2,000 readings in packets of 10 records and, like a real device,
sends a packet again until its reply counts all its records: after a reconnect when the gateway
died. The real bridge archives what reaches Kafka. A packet's readings may reach Kafka twice (the
gateway died after Kafka had them, before the reply); their deterministic event ids make the
archive keep each once: it must hold exactly the 2,000 expected event ids.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
from tests.helpers import LOGISTREAM, running, seeded_random, wait_until
from tests.teltonika_tracker import Tracker, expected_ids, packets

from logistream.config import Settings

PACKETS = 100
RECORDS = 10  # x 2 probes: 2,000 readings
KILLS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gateway(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [LOGISTREAM, "gateway", "teltonika", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _served(log: Path) -> int:
    """How many gateway starts have said they listen (each says it once)."""
    return log.read_text(errors="replace").count("listening on") if log.exists() else 0


def _archived(settings: Settings) -> tuple[int, set[str]]:
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        try:
            rows: list[Any] = conn.execute("SELECT event_id::text FROM readings").fetchall()
        except psycopg.errors.UndefinedTable:  # the bridge has not migrated yet
            return 0, set()
    return len(rows), {r[0] for r in rows}


def test_kill_9_the_gateway_keeps_every_reading_exactly_once(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    rng = seeded_random("teltonika-kill-9")
    port = _free_port()
    log = tmp_path / "gateway.log"
    start_ms = (int(time.time()) - 3600) * 1000
    expected = expected_ids(start_ms, PACKETS * RECORDS)
    tracker = Tracker(port, packets(start_ms, PACKETS, RECORDS), RECORDS, pace_s=0.05)
    bridge_argv = [LOGISTREAM, "bridge", "--instance-id", "teltonika-kill"]
    with running(bridge_argv, settings_env, tmp_path / "bridge.log", "bridge"):
        served_before = _served(log)  # "listening" lines before the latest gateway started
        gateway = _gateway(settings_env, port, log)
        tracker.start()
        kills = 0
        try:
            while kills < KILLS and not tracker.done.is_set():
                # Seeded moments: from the gateway's start-up to mid-stream.
                time.sleep(rng.uniform(0.5, 3.0))
                gateway.send_signal(signal.SIGKILL)
                gateway.wait(30)
                kills += 1
                print(f"kill {kills}: tracker resent {tracker.resent} packets so far")
                served_before = _served(log)
                gateway = _gateway(settings_env, port, log)
            tracker.join(300)
            assert tracker.error is None, tracker.error
            assert tracker.done.is_set(), "the tracker did not finish"
        finally:
            if gateway.poll() is None:
                # A SIGTERM before the interpreter has even installed its handler (a gateway
                # restarted just as the tracker finished) would kill it: stop it once it serves.
                # (A gateway killed during its start-up never said it listened: count only the
                # latest one's line.)
                wait_until(
                    lambda: _served(log) > served_before,
                    timeout=60,
                    what="the last gateway to serve",
                )
                gateway.send_signal(signal.SIGTERM)
                assert gateway.wait(60) == 0, log.read_text()[-3000:]
        print(f"{kills} kills, {tracker.resent} packets resent")
        assert kills >= 1
        wait_until(lambda: _archived(settings)[0] >= len(expected), timeout=120, what="the archive")
        time.sleep(3)  # a second copy would be archived by now
        rows, ids = _archived(settings)
    assert rows == len(expected) == 2000
    assert ids == expected
