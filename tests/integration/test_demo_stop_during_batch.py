"""Stopping during a batch run: the run is cancelled and rolled back, and everything exits 0.

A long run is made by holding the lock every run takes first, so ``logistream batch`` waits on
it (a run over a large archive holds the server just as long). Then ``logistream batch`` is
sent SIGTERM or SIGINT, and the demo's supervisor (its batch schedule, started as the demo
starts it) is sent SIGTERM: each must stop in seconds, exit 0, and print no traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from tests.helpers import wait_until
from tests.integration.batch_support import apply_schema, fetch

from logistream.config import Settings

LOGISTREAM = str(Path(sys.executable).with_name("logistream"))
RUN_LOCK = "SELECT pg_advisory_lock(hashtext('logistream.batch'))"
STOP_BOUND_S = 20.0
"""Well under the demo's 30 s stop timeout, after which it used to end in a traceback."""

# The demo's supervisor with no other children: its batch schedule, due at once.
SUPERVISOR = """
import sys
from pathlib import Path
from logistream import demo, shutdown
with shutdown.stop_on_signals() as stop:
    batches = demo.BatchSchedule(Path(sys.argv[1]), every_s=0.0)
    sys.exit(demo.supervise([], batches, stop))
"""


def _waiting_runs(url: str) -> int:
    rows = fetch(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
    )
    return int(rows[0][0])


def _stopped_within(proc: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[int, float]:
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=STOP_BOUND_S + 40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, time.monotonic() - sent


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_batch_run_stops_cleanly(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path, sig: signal.Signals
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute(RUN_LOCK)
        err = (tmp_path / "batch.err").open("wb")
        batch = subprocess.Popen(
            [LOGISTREAM, "batch"], env=settings_env, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            wait_until(lambda: _waiting_runs(url) >= 1, timeout=60, what="the run to wait")
        except BaseException:
            batch.kill()
            raise
        code, seconds = _stopped_within(batch, sig)
        err.close()
        stderr = (tmp_path / "batch.err").read_text()
        print(stderr)
        assert code == 0, f"exit {code}"
        assert seconds < STOP_BOUND_S, f"took {seconds:.1f} s to stop"
        assert "Traceback" not in stderr
        assert "batch: stopped" in stderr
        assert _waiting_runs(url) == 0, "the stopped run's statement is still waiting"
    assert fetch(url, "SELECT count(*) FROM batch_runs") == [(0,)]


def test_demo_stops_during_a_long_batch_run(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    url = settings.database_url
    apply_schema(settings)
    batch_log = tmp_path / "logs" / "batch.log"
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute(RUN_LOCK)
        err = (tmp_path / "demo.err").open("wb")
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, str(batch_log)],
            env=settings_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_until(lambda: _waiting_runs(url) >= 1, timeout=60, what="the run to wait")
        except BaseException:
            supervisor.kill()
            raise
        code, seconds = _stopped_within(supervisor, signal.SIGTERM)
        err.close()
        stderr = (tmp_path / "demo.err").read_text()
        logged = batch_log.read_text()
        print(stderr, logged, sep="\n")
        assert code == 0, f"exit {code}"
        assert seconds < STOP_BOUND_S, f"took {seconds:.1f} s to stop"
        assert "Traceback" not in stderr
        assert "stopped batch (exit 0)" in stderr
        assert "Traceback" not in logged
        assert "batch: stopped" in logged
        assert _waiting_runs(url) == 0, "the stopped run's statement is still waiting"
