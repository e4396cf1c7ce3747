"""``logistream simulate`` with no Kafka in reach at all: every reading is kept in the spool,
and a Ctrl-C while the finished run waits for Kafka stops at once, keeping them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.helpers import LOGISTREAM, wait_until

from logistream.ingest.spool import Spool
from logistream.stack.process import free_port

ARGS = ["--trucks", "2", "--duration", "600", "--seed", "7", "--start", "2025-03-03T06:00:00+03:00"]


def test_ctrl_c_while_a_finished_run_waits_for_kafka_keeps_every_reading(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGISTREAM_")}
    env.update(
        LOGISTREAM_HOME=str(tmp_path / "home"),
        LOGISTREAM_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",  # nothing listens there
        PYTHONUNBUFFERED="1",
    )
    made = subprocess.run(
        [LOGISTREAM, "simulate", *ARGS, "--dry-run"], env=env, capture_output=True, timeout=120
    )
    assert made.returncode == 0, made.stderr.decode()
    readings = len(made.stdout.splitlines())

    err_path = tmp_path / "err.txt"
    with err_path.open("wb") as err:
        process = subprocess.Popen(
            [LOGISTREAM, "simulate", *ARGS, "--speedup", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
        )
        try:
            wait_until(
                lambda: "Kafka unreachable: trying for up to" in err_path.read_text(),
                timeout=60,
                what="the finished run to wait for Kafka",
            )
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    log = err_path.read_text()
    assert process.returncode == 0, log
    # The Ctrl-C ended the wait (otherwise it runs its 30 s and says nothing of it).
    assert "stopped waiting for Kafka: the spool is kept for the next run" in log
    assert f"left in spool {readings}" in out.decode(), out.decode()
    spool = Spool(tmp_path / "home" / "spool" / "truck_telemetry")
    assert spool.unread == readings
    spool.close()
