"""Alert changes on truck_alerts reach a real SMTP server, a webhook receiver and an SMS gateway,
through a real `logistream notify`; failures are retried with backoff, never block the other
channels, and a permanent failure is logged with its reason."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.helpers import wait_until
from tests.integration.notify_support import (
    SMS_KEY,
    SMS_USER,
    WEBHOOK_SECRET,
    HttpReceiver,
    SmtpServer,
    alert,
    log_rows,
    notifier,
    notify_env,
    produce_alerts,
    routing_toml,
)

from logistream.config import Settings
from logistream.notify.messages import idempotency_key
from logistream.notify.sms_text import is_gsm7
from logistream.stack.process import free_port

# The test SMTP server takes AUTH without TLS on purpose (localhost only).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _all_done(settings: Settings, count: int) -> list[dict[str, object]]:
    rows = log_rows(settings)
    return rows if len(rows) >= count and all(r["status"] != "pending" for r in rows) else []


def test_an_alert_reaches_email_webhook_and_sms_with_idempotency_keys_and_retries(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "notify.log"
    # The gateway fails twice (a 503, then a timeout) before it accepts the SMS.
    with SmtpServer() as smtp, HttpReceiver(sms_script=[503, "timeout"], slow_s=2.5) as http:
        env = notify_env(settings_env, tmp_path, routing_toml(http.url("/hook")), smtp.port, http)
        opened = alert("KCK 293K")
        acked = alert(
            "KCK 293K", alert_id=opened.alert_id, state="acknowledged", acknowledged_by="Kiprop"
        )
        with notifier(env, log):
            produce_alerts(settings, [opened])
            # open: amina by email + sms, partner by webhook; acknowledged: the same three.
            wait_until(lambda: len(smtp.mails) >= 1 and http.on("/hook"), timeout=60,
                       what="the e-mail and the webhook")  # fmt: skip
            produce_alerts(settings, [acked])
            rows = wait_until(lambda: _all_done(settings, 6), timeout=60, what="6 logged sends")
            time.sleep(1.0)  # anything repeated would arrive now
        assert {(r["alert_state"], r["channel"], r["status"]) for r in rows} == {
            (s, c, "sent") for s in ("open", "acknowledged") for c in ("email", "sms", "webhook")
        }
        keys = {(r["alert_state"], r["channel"]): r["idempotency_key"] for r in rows}

        # E-mail: the Message-ID is the idempotency key; the body carries the ack link.
        assert len(smtp.mails) == 2
        first = next(m for m in smtp.mails if "CRITICAL" in str(m.message["Subject"]))
        key = idempotency_key(opened.alert_id, "open", "amina", "email", 0)
        assert keys[("open", "email")] == key
        assert first.message["Message-ID"] == f"<{key}@logistream.test>"
        assert first.rcpt == ["amina@example.co.ke"]
        assert "http://127.0.0.1:1/ack/" in first.message.get_content()

        # Webhook: signature over timestamp + body with the shared secret; key in a header.
        hooks = http.on("/hook")
        assert len(hooks) == 2
        for hook in hooks:
            ts = hook.headers["X-LogiStream-Timestamp"]
            mac = hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + b"." + hook.body, hashlib.sha256)
            assert hook.headers["X-LogiStream-Signature"] == f"sha256={mac.hexdigest()}"
            assert hook.json()["idempotency_key"] == hook.headers["Idempotency-Key"]
        assert {h.headers["Idempotency-Key"] for h in hooks} == {
            keys[("open", "webhook")],
            keys[("acknowledged", "webhook")],
        }

        # SMS: three tries of the open message (503, timeout, accepted), all with one key.
        sms = http.on("/sms")
        opened_sms = [s for s in sms if s.form()["clientReference"] == keys[("open", "sms")]]
        assert len(opened_sms) == 3
        assert len(sms) == 4
        form = opened_sms[-1].form()
        assert (form["username"], form["from"], form["to"]) == (SMS_USER, "LOGISTREAM",
                                                                "+254700000101")  # fmt: skip
        assert opened_sms[-1].headers["apiKey"] == SMS_KEY
        text = form["message"]
        assert len(text) <= 160
        assert is_gsm7(text)
        assert text.startswith("CRITICAL KCK 293K 13.2C Vaccines near Voi Ack: http://127.0.0.1:1/")
        by_key = {r["idempotency_key"]: r for r in rows}
        assert by_key[keys[("open", "sms")]]["attempts"] == 3
        assert str(by_key[keys[("open", "sms")]]["provider_ref"]).startswith("ATXid_")
        gaps = [b.at - a.at for a, b in itertools.pairwise(opened_sms)]
        assert gaps[0] >= 0.3  # backed off before retrying

    # The trip report's section: who was told what, and who acknowledged.
    import psycopg

    from logistream.reads.notifications import trip_notifications

    assert settings.database_url
    with psycopg.connect(settings.database_url) as conn:
        now = datetime.now(UTC)
        section = trip_notifications(conn, "KCK 293K", now - timedelta(hours=1), now)
        days_ago = trip_notifications(
            conn, "KCK 293K", now - timedelta(days=3), now - timedelta(days=2)
        )
        assert days_ago == []
    assert len(section) == 6
    assert {s["acknowledged_by"] for s in section} == {"Kiprop"}
    assert {(s["change"], s["channel"], s["recipient"]) for s in section} >= {
        ("open", "sms", "Amina Otieno"), ("open", "webhook", "Partner TMS")
    }  # fmt: skip


def test_a_dead_channel_fails_with_its_reason_and_never_blocks_the_others(
    settings: Settings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "notify.log"
    dead_smtp = free_port()  # nothing listens here: SMTP is down
    with HttpReceiver(sms_status=403) as http:  # the gateway refuses the number for good
        env = notify_env(
            settings_env, tmp_path, routing_toml(http.url("/hook")), dead_smtp, http,
            max_attempts="3",
        )  # fmt: skip
        with notifier(env, log):
            started = time.time()
            produce_alerts(settings, [alert("KCA 452B", severity="major", rule="temp_high")])
            hook = wait_until(lambda: http.on("/hook"), timeout=60, what="the webhook")
            rows = wait_until(lambda: _all_done(settings, 3), timeout=60, what="3 logged sends")
    # The webhook went out at once although e-mail kept failing.
    assert hook[0].at - started < 10
    status = {r["channel"]: r for r in rows}
    assert status["webhook"]["status"] == "sent"
    assert status["email"]["status"] == "failed"
    assert status["email"]["attempts"] == 3
    assert "gave up after 3 attempts" in status["email"]["last_error"]
    assert "unreachable" in status["email"]["last_error"]
    assert status["sms"]["status"] == "failed"
    assert status["sms"]["attempts"] == 1
    assert "invalid phone number" in status["sms"]["last_error"]
    assert "mail-pw" not in log.read_text()
    assert "sms-api-key" not in log.read_text()
