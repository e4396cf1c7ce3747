"""Acknowledgements on the audit trail, over the real stack (Kafka, PostgreSQL, Redis).

An open alert is put in the live views (no speed layer is needed: the row is written at the
request, once Kafka has the command). The API's ack leaves one ``ack`` row as the token, source
``api``; ``logistream alerts ack`` one as ``cli:<OS user>``, source ``cli``, with ``--by`` in
``after``; the dashboard's as the signed-in user, source ``dashboard``; an e-mailed link's as the
name in the link, source ``api``, ``after.via`` = ``ack_link``. Each row's command id is the one
on ``alert_commands`` and the chain verifies. An ack Kafka refuses leaves no row (503
kafka_unavailable); with PostgreSQL down the CLI sends nothing.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import psycopg
import redis
from tests.helpers import LOGISTREAM, wait_until
from tests.integration.api_support import api_client, auth, fetch, prepare
from tests.integration.notify_support import ACK_SECRET
from tests.integration.speed_support import TopicReader
from tests.integration.test_alerts_page_after_ack import _acknowledge
from tests.integration.test_dashboard_pages import _page, dashboard

from logistream.audit.verify import verify
from logistream.config import Settings
from logistream.events import Alert, decode_command
from logistream.link_tokens import ack_secret, make_token
from logistream.live_views import RedisLiveViewsWriter
from logistream.serving.users import User
from logistream.stack.process import free_port

__all__ = ["dashboard"]

ALERT_ID = "5e1f0c2a-0000-5000-8000-0000000000a1"


def _open_alert(client: redis.Redis) -> None:
    now = time.time()
    alert = Alert(
        alert_id=ALERT_ID,
        truck_id="KDA 500X",
        rule="temp_high",
        severity="major",
        state="open",
        opened_at=now - 60,
        changed_at=now - 60,
        message="KDA 500X: cargo at 9.1 °C, above 8 °C",
        trip_id="trip-500",
    )
    RedisLiveViewsWriter(client).write_batch([], {}, [alert])


def _ack_rows(settings: Settings) -> list[tuple[Any, ...]]:
    return fetch(
        settings,
        "SELECT actor, source, organisation, subject_kind, subject_id, before, after, reason "
        "FROM audit_log WHERE action = 'ack' ORDER BY seq",
    )


def _intact(settings: Settings) -> bool:
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return verify(conn).broken is None


def test_an_api_ack_leaves_one_audit_row_as_the_token_and_a_refused_send_none(
    settings: Settings, client: redis.Redis
) -> None:
    tokens = prepare(settings, **{"erp-qa": ["read", "ack"]})
    _open_alert(client)
    down = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    with api_client(down, kafka_timeout_s=2.0) as api:
        refused = api.post(
            f"/v1/alerts/{ALERT_ID}/ack", json={"note": "x"}, headers=auth(tokens["erp-qa"])
        )
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "kafka_unavailable"
    assert _ack_rows(settings) == [], "an ack Kafka did not take is not on the audit trail"

    commands = TopicReader(settings, settings.topic_commands)
    try:
        with api_client(settings, ack_wait_s=0) as api:
            done = api.post(
                f"/v1/alerts/{ALERT_ID}/ack",
                json={"note": "driver re-set the unit"},
                headers=auth(tokens["erp-qa"]),
            )
        assert done.status_code == 202, done.text  # no speed layer: sent, not applied
        sent = wait_until(
            lambda: [decode_command(v) for _, v in commands.poll(1.0)], what="the ack command"
        )
    finally:
        commands.close()
    assert [c.command_id for c in sent] == [done.json()["command_id"]]
    assert _ack_rows(settings) == [
        (
            "erp-qa",
            "api",
            "carrier",
            "alert",
            ALERT_ID,
            {"state": "open"},
            {
                "by": "erp-qa",
                "truck": "KDA 500X",
                "rule": "temp_high",
                "trip": "trip-500",
                "note": "driver re-set the unit",
                "command_id": sent[0].command_id,
            },
            "driver re-set the unit",
        )
    ]
    assert _intact(settings)


def test_a_cli_ack_leaves_one_audit_row_as_the_os_user_and_without_postgres_sends_nothing(
    settings: Settings, settings_env: dict[str, str], client: redis.Redis
) -> None:
    prepare(settings)  # migrated, no tokens
    _open_alert(client)
    env = settings_env | {"LOGNAME": "dispatcher7"}
    ack = ["alerts", "ack", ALERT_ID[:8], "--by", "Otieno", "--note", "on it", "--wait", "0"]
    commands = TopicReader(settings, settings.topic_commands)
    try:
        no_db = env | {"LOGISTREAM_DATABASE_URL": f"postgresql://x:y@127.0.0.1:{free_port()}/n"}
        refused = subprocess.run(
            [LOGISTREAM, *ack], env=no_db, capture_output=True, text=True, timeout=60
        )
        print(refused.stderr)
        assert refused.returncode != 0
        assert "PostgreSQL is not answering" in refused.stderr
        assert "not sent" in refused.stderr
        assert commands.poll(3.0) == [], "an ack that cannot be audited is not sent"

        done = subprocess.run(
            [LOGISTREAM, *ack], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert f"acknowledgement of {ALERT_ID} published" in done.stdout
        sent = wait_until(
            lambda: [decode_command(v) for _, v in commands.poll(1.0)], what="the ack command"
        )
    finally:
        commands.close()
    assert [(c.alert_id, c.by) for c in sent] == [(ALERT_ID, "Otieno")]
    rows = _ack_rows(settings)
    assert [r[:5] for r in rows] == [("cli:dispatcher7", "cli", "carrier", "alert", ALERT_ID)]
    after = rows[0][6]
    assert (after["by"], after["note"], after["command_id"]) == (
        "Otieno",
        "on it",
        sent[0].command_id,
    )
    assert rows[0][7] == "on it"
    assert _intact(settings)


def test_a_dashboard_ack_is_recorded_as_the_signed_in_user(dashboard: Settings) -> None:
    page = _page("alerts", User("dan", "dispatcher"))
    _acknowledge(page, "a-hot-1", note="Called the driver")  # no speed layer: sent, not applied
    rows = _ack_rows(dashboard)
    assert [r[:5] for r in rows] == [("dan", "dashboard", "carrier", "alert", "a-hot-1")]
    assert (rows[0][6]["by"], rows[0][7]) == ("dan", "Called the driver")
    assert _intact(dashboard)


def test_an_ack_link_is_recorded_as_the_name_in_the_link(
    settings: Settings, client: redis.Redis
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from logistream.api.ack_links import build_router

    prepare(settings)
    _open_alert(client)
    app = FastAPI()
    app.include_router(build_router(settings, ACK_SECRET))
    token = make_token(
        ack_secret(settings, ACK_SECRET), ALERT_ID, "Amina Otieno", time.time() + 3600
    )
    with TestClient(app) as web:
        assert web.get(f"/ack/{token}").status_code == 200
        assert _ack_rows(settings) == [], "the confirmation page (a GET) records nothing"
        done = web.post(f"/ack/{token}", data={"note": "driver told to stop"})
    assert done.status_code == 200, done.text
    assert "Acknowledged as Amina Otieno" in done.text
    rows = _ack_rows(settings)
    assert [r[:5] for r in rows] == [("Amina Otieno", "api", None, "alert", ALERT_ID)]
    after = rows[0][6]
    assert (after["by"], after["via"], after["note"]) == (
        "Amina Otieno",
        "ack_link",
        "driver told to stop",
    )
    assert _intact(settings)
