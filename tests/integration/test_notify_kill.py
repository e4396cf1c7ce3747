"""Killing the notifier (kill -9) mid-send and restarting repeats at most the unlogged send,
with the same idempotency key; every send confirmed in the log is never repeated."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from tests.helpers import wait_until
from tests.integration.notify_support import (
    HttpReceiver,
    SmtpServer,
    alert,
    log_rows,
    notifier,
    notify_env,
    produce_alerts,
    routing_toml,
    start_notifier,
)

from logistream.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def test_kill_9_mid_send_repeats_only_the_unlogged_send_with_the_same_key(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "notify.log"
    # The partner's receiver takes the first webhook and never answers while the notifier lives.
    with SmtpServer() as smtp, HttpReceiver(hook_script=["hang"]) as http:
        env = notify_env(
            settings_env, tmp_path, routing_toml(http.url("/hook")), smtp.port, http,
            webhook_timeout_s="60",
        )  # fmt: skip
        first = alert("KBX 123A")
        proc = start_notifier(env, log)
        try:
            produce_alerts(settings, [first])
            wait_until(lambda: http.on("/hook"), timeout=60, what="the webhook in flight")
            wait_until(
                lambda: (
                    {r["channel"] for r in log_rows(settings, "status = 'sent'")}
                    == {"email", "sms"}
                ),
                timeout=60,
                what="e-mail and SMS confirmed in the log",
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        http.release.set()
        assert {r["channel"]: r["status"] for r in log_rows(settings)}["webhook"] == "pending"

        second = alert("KCB 781C")
        with notifier(env, log):
            produce_alerts(settings, [second])
            wait_until(
                lambda: len(log_rows(settings, "status = 'sent'")) == 6,
                timeout=60,
                what="all six sends confirmed",
            )
            time.sleep(1.0)  # anything repeated would arrive now

    hooks = http.on("/hook")
    keys = [h.headers["Idempotency-Key"] for h in hooks]
    first_key = next(
        r["idempotency_key"] for r in log_rows(settings, f"alert_id = '{first.alert_id}' "
                                                          "AND channel = 'webhook'")
    )  # fmt: skip
    # The unlogged webhook went out twice with one key; everything else exactly once.
    assert keys.count(first_key) == 2
    assert len(hooks) == 3
    assert len(set(keys)) == 2
    sms_refs = [s.form()["clientReference"] for s in http.on("/sms")]
    assert len(sms_refs) == 2
    assert len(set(sms_refs)) == 2
    message_ids = [str(m.message["Message-ID"]) for m in smtp.mails]
    assert len(message_ids) == 2
    assert len(set(message_ids)) == 2
    assert all(r["status"] == "sent" for r in log_rows(settings))
