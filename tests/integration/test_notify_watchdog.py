"""The watchdog: a speed layer that stops beating (SIGSTOP) is reported stalled once, and once
more when it recovers; a bridge that never ran (no heartbeat in PostgreSQL) is stalled too."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
from tests.helpers import wait_until
from tests.integration.notify_support import (
    HttpReceiver,
    SmtpServer,
    log_rows,
    notifier,
    notify_env,
    routing_toml,
)
from tests.integration.speed_support import speed_process

from logistream import live_views
from logistream.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _told(settings: Settings) -> list[tuple[str, str]]:
    rows = log_rows(settings, "kind = 'watchdog' AND channel = 'sms' AND status = 'sent'")
    return [(r["alert_id"].split(":")[1], r["alert_state"]) for r in rows]


def test_a_stalled_speed_layer_is_reported_once_and_its_recovery_once(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis, tmp_path: Path
) -> None:
    watchdog = "speed = true\nbridge = true\nspeed_stale_s = 3\nbridge_stale_s = 3"
    with SmtpServer() as smtp, HttpReceiver() as http:
        routing = routing_toml(http.url("/hook"), watchdog=watchdog)
        env = notify_env(settings_env, tmp_path, routing, smtp.port, http)
        with speed_process(settings_env, log=tmp_path / "speed.log") as speed:
            wait_until(lambda: live_views.read_heartbeat(client), what="a speed heartbeat")
            with notifier(env, tmp_path / "notify.log"):
                wait_until(lambda: _told(settings) == [("bridge", "stalled")], timeout=30,
                           what="the bridge reported stalled")  # fmt: skip
                time.sleep(1.0)
                assert ("speed", "stalled") not in _told(settings)  # it is beating
                speed.send_signal(signal.SIGSTOP)
                stopped = time.time()
                try:
                    wait_until(lambda: ("speed", "stalled") in _told(settings), timeout=30,
                               what="the speed layer reported stalled")  # fmt: skip
                    assert time.time() - stopped < 10
                    time.sleep(2.0)  # still stalled: no second message
                    assert _told(settings).count(("speed", "stalled")) == 1
                finally:
                    speed.send_signal(signal.SIGCONT)
                wait_until(lambda: ("speed", "recovered") in _told(settings), timeout=30,
                           what="the recovery")  # fmt: skip
                time.sleep(2.0)
    assert sorted(_told(settings)) == [
        ("bridge", "stalled"), ("speed", "recovered"), ("speed", "stalled")
    ]  # fmt: skip
    sms = [s.form()["message"] for s in http.on("/sms")]
    assert any(m.startswith("LOGISTREAM STALLED: speed layer") for m in sms)
    assert any(m.startswith("LOGISTREAM OK: speed layer") for m in sms)
    subjects = sorted(str(m.message["Subject"]) for m in smtp.mails)
    assert subjects == [
        "[LogiStream] PIPELINE STALLED: archive bridge",
        "[LogiStream] PIPELINE STALLED: speed layer",
        "[LogiStream] pipeline recovered: speed layer",
    ]
