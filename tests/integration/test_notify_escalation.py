"""Escalation and ack links, with a real speed layer raising the alerts and applying the ack.

Two trucks run hot. Nobody acknowledges the first: it escalates to level 1, then level 2, each
once. The second is acknowledged through the link in its SMS: a GET shows the confirmation page
and acknowledges nothing; the POST publishes the command on alert_commands with the recipient's
name, the speed layer applies it, and its escalation never fires. Forged and expired links are
refused.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
import redis
from tests.helpers import wait_until
from tests.integration.notify_support import (
    ACK_SECRET,
    HttpReceiver,
    SmtpServer,
    ack_server,
    log_rows,
    notifier,
    notify_env,
    routing_toml,
)
from tests.integration.speed_support import (
    TopicReader,
    produce,
    reading,
    speed_process,
)

from logistream import live_views
from logistream.config import Settings
from logistream.events import decode_command
from logistream.link_tokens import make_token

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ESCALATE_AFTER_MIN = (0.15, 0.3)  # 9 s and 18 s after the first notice


def _levels(settings: Settings, alert_id: str) -> list[tuple[int, str, str]]:
    rows = log_rows(settings, f"alert_id = '{alert_id}' AND kind = 'escalation'")
    return sorted((r["level"], r["recipient"], r["channel"]) for r in rows)


def test_unacknowledged_escalates_level_by_level_and_an_ack_link_stops_it(
    settings: Settings,
    settings_env: dict[str, str],
    client: redis.Redis,
    tmp_path: Path,
) -> None:
    now = time.time()
    produce(
        settings,
        [
            ("KTA 001A", reading("KTA 001A", now - 60, 5.0)),
            ("KTA 001A", reading("KTA 001A", now - 30, 9.5)),
            ("KTB 002B", reading("KTB 002B", now - 60, 5.0)),
            ("KTB 002B", reading("KTB 002B", now - 30, 10.5)),
        ],
    )
    commands = TopicReader(settings, settings.topic_commands)
    with (
        SmtpServer() as smtp,
        HttpReceiver() as http,
        ack_server(settings) as base,
        speed_process(settings_env, log=tmp_path / "speed.log"),
    ):
        routing = routing_toml(http.url("/hook"), escalate_after_min=ESCALATE_AFTER_MIN)
        env = notify_env(settings_env, tmp_path, routing, smtp.port, http, public_url=base)
        with notifier(env, tmp_path / "notify.log"):
            alerts = wait_until(
                lambda: (
                    len(live_views.read_open_alerts(client)) == 2
                    and live_views.read_open_alerts(client)
                ),
                what="two open alerts",
            )
            by_truck = {a.truck_id: a for a in alerts}
            ignored, handled = by_truck["KTA 001A"], by_truck["KTB 002B"]
            assert {a.severity for a in alerts} == {"major"}

            def sms_for(truck: str) -> str | None:
                for s in http.on("/sms"):
                    text = s.form()["message"]
                    if truck in text and "Ack: " in text and not text.startswith("UNACKED"):
                        return text
                return None

            text = wait_until(lambda: sms_for("KTB 002B"), what="the SMS with the ack link")
            link = re.search(r"Ack: (\S+)$", text)
            assert link is not None
            assert link.group(1).startswith(f"{base}/ack/")
            url = link.group(1)

            # A GET (a mail scanner, a link preview) shows the page and acknowledges nothing.
            page = httpx.get(url, timeout=10)
            assert page.status_code == 200
            assert "Acknowledge as Amina Otieno" in page.text
            assert "EAT</li>" in page.text  # the opening time in LOGISTREAM_TIMEZONE, not UTC
            assert page.headers["Referrer-Policy"] == "no-referrer"
            time.sleep(1.0)
            assert commands.poll(1.0) == []
            assert live_views.read_alert(client, handled.alert_id).state == "open"  # type: ignore[union-attr]

            # Forged and expired links are refused, and publish nothing.
            token = url.rsplit("/", 1)[1]
            forged = make_token(b"not-the-secret-at-all", handled.alert_id, "Mallory", now + 3600)
            expired = make_token(ACK_SECRET.encode(), handled.alert_id, "Amina", now - 1)
            for bad, status in ((forged, 403), (expired, 410), (token[:-3] + "AAA", 403)):
                assert httpx.post(f"{base}/ack/{bad}", timeout=10).status_code == status
                assert httpx.get(f"{base}/ack/{bad}", timeout=10).status_code == status

            # Only the button (a POST) acknowledges, in the recipient's name.
            done = httpx.post(url, data={"note": "driver told to stop"}, timeout=30)
            assert done.status_code == 200
            assert "Acknowledged as Amina Otieno" in done.text
            published = [decode_command(v) for _, v in commands.poll(2.0)]
            assert [(c.action, c.alert_id, c.truck_id, c.by, c.note) for c in published] == [
                ("ack", handled.alert_id, "KTB 002B", "Amina Otieno", "driver told to stop")
            ]
            acked = wait_until(
                lambda: (
                    (a := live_views.read_alert(client, handled.alert_id)) is not None
                    and a.state == "acknowledged"
                    and a
                ),
                what="the speed layer applying the ack",
            )
            assert acked.acknowledged_by == "Amina Otieno"

            # The ignored alert climbs both levels, each once; the acknowledged one never does.
            wait_until(
                lambda: {lv for lv, _, _ in _levels(settings, ignored.alert_id)} == {1, 2},
                timeout=60,
                what="both escalation levels",
            )
            wait_until(
                lambda: all(r["status"] == "sent" for r in log_rows(settings)),
                what="every send confirmed",
            )
            time.sleep(2.0)  # a repeated level would show up now
            assert _levels(settings, ignored.alert_id) == [
                (1, "quality", "email"), (1, "quality", "sms"), (2, "boss", "email")
            ]  # fmt: skip
            assert _levels(settings, handled.alert_id) == []
            # A second POST of the same link does not acknowledge twice.
            again = httpx.post(url, timeout=30)
            assert "Already acknowledged" in again.text
            assert len(commands.poll(1.0)) == 1
    commands.close()
    boss = [m for m in smtp.mails if m.rcpt == ["boss@example.co.ke"]]
    assert len(boss) == 1
    assert "UNACKED L2" in str(boss[0].message["Subject"])
    quality_sms = [s for s in http.on("/sms") if s.form()["to"] == "+254700000103"]
    assert len(quality_sms) == 1
    assert quality_sms[0].form()["message"].startswith("UNACKED L1")
