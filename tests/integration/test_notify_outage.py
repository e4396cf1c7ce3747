"""PostgreSQL stopped while alert changes keep arriving: the notifier waits, reconnects and logs
every planned send exactly once; a SIGTERM while it waits still exits 0 and loses nothing, and a
notifier started while PostgreSQL is down waits for it.

The notifier's log lives in a private PostgreSQL (the ``private_postgres`` fixture), so stopping
it never disturbs the shared test stack; Kafka is the shared one.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from tests.helpers import seeded_random, wait_until
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

from logistream.config import Settings, child_env
from logistream.events import Alert
from logistream.notify.messages import idempotency_key
from logistream.stack.postgres_server import PostgresServer

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

OUTAGE_S = 6.0
STATE_CHAINS = (("open",), ("open", "acknowledged"), ("open", "resolved"),
                ("open", "acknowledged", "resolved"))  # fmt: skip
SEVERITIES = ("critical", "major", "minor", "warning")
RETRY_WARNING = "PostgreSQL unavailable while"
START_WAIT = "cannot connect to PostgreSQL to migrate the schema"


def _changes(name: str, alerts: int) -> list[Alert]:
    """Seeded alert changes; each alert's changes in order (one truck, so one partition)."""
    rng = seeded_random(name)
    out: list[Alert] = []
    for i in range(alerts):
        truck = f"KT{'ABCDEFGH'[i % 8]} {rng.randrange(1000):03d}X"
        severity = rng.choice(SEVERITIES)
        first = alert(truck, severity=severity)
        out += [alert(truck, severity=severity, state=s, alert_id=first.alert_id)
                for s in rng.choice(STATE_CHAINS)]  # fmt: skip
    return out


def _planned(change: Alert) -> list[tuple[str, str]]:
    """What `routing_toml` plans per change (recipient, channel): the dispatcher (Amina) by
    e-mail and SMS, and the partner's webhook for critical and major alerts."""
    sends = [("amina", "email"), ("amina", "sms")]
    if change.severity in ("critical", "major"):
        sends.append(("partner", "webhook"))
    return sends


def _expected_keys(changes: list[Alert]) -> set[str]:
    return {idempotency_key(c.alert_id, c.state, who, channel, 0)
            for c in changes for who, channel in _planned(c)}  # fmt: skip


def _retry_warnings(log: Path) -> int:
    return log.read_text().count(RETRY_WARNING)


def _logged(settings: Settings) -> list[str]:
    return [r["idempotency_key"] for r in log_rows(settings)]


def _setup(
    settings: Settings, url: str, tmp_path: Path, smtp: SmtpServer, http: HttpReceiver
) -> tuple[Settings, dict[str, str]]:
    own = settings.model_copy(update={"database_url": url})
    base = child_env(own) | {"PYTHONUNBUFFERED": "1"}
    return own, notify_env(base, tmp_path, routing_toml(http.url("/hook")), smtp.port, http)


def test_postgres_outage_while_alerts_arrive_logs_every_planned_send_once(
    settings: Settings, private_postgres: tuple[PostgresServer, str], tmp_path: Path
) -> None:
    server, url = private_postgres
    changes = _changes("notify-outage", 24)
    before, during, after = changes[:12], changes[12:-6], changes[-6:]
    expected = _expected_keys(changes)
    log = tmp_path / "notify.log"
    with SmtpServer() as smtp, HttpReceiver() as http:
        own, env = _setup(settings, url, tmp_path, smtp, http)
        try:
            with notifier(env, log) as proc:
                produce_alerts(own, before)
                wait_until(lambda: set(_logged(own)) == _expected_keys(before), timeout=90,
                           what="the changes before the outage logged")  # fmt: skip
                server.down()
                for change in during:  # changes keep arriving while the log is away
                    produce_alerts(own, [change])
                    time.sleep(OUTAGE_S / len(during))
                wait_until(lambda: _retry_warnings(log), timeout=60,
                           what="a warning that it waits for PostgreSQL")  # fmt: skip
                assert proc.poll() is None, "the notifier must wait for PostgreSQL, not exit"
                server.up()
                produce_alerts(own, after)
                wait_until(lambda: set(_logged(own)) == expected, timeout=120,
                           what="every planned send logged")  # fmt: skip
                wait_until(
                    lambda: {r["status"] for r in log_rows(own)} == {"sent"}, timeout=120,
                    what="every logged send sent",
                )  # fmt: skip
                assert proc.poll() is None, "the notifier must still be running after the outage"
            assert proc.returncode == 0
        finally:
            print(log.read_text()[-4000:] if log.exists() else "(no notifier log)")
        received = {h.headers["Idempotency-Key"] for h in http.requests} | {
            str(m.message["X-LogiStream-Idempotency-Key"]) for m in smtp.mails
        }

    keys = _logged(own)
    assert len(keys) == len(set(keys)) == len(expected)
    by_alert: dict[tuple[str, str], list[str]] = {}
    for r in log_rows(own):
        by_alert.setdefault((r["alert_id"], r["alert_state"]), []).append(r["channel"])
    assert {k: sorted(v) for k, v in by_alert.items()} == {
        (c.alert_id, c.state): sorted(ch for _, ch in _planned(c)) for c in changes
    }
    assert received == expected  # every planned send reached its channel (same key if repeated)
    warnings = [line for line in log.read_text().splitlines() if RETRY_WARNING in line]
    assert warnings
    assert all("retry" in line for line in warnings)


def test_sigterm_while_waiting_for_postgres_exits_0_and_a_restart_waits_for_it(
    settings: Settings, private_postgres: tuple[PostgresServer, str], tmp_path: Path
) -> None:
    server, url = private_postgres
    changes = _changes("notify-outage-stop", 8)
    before, during = changes[:4], changes[4:]
    log = tmp_path / "notify.log"
    with SmtpServer() as smtp, HttpReceiver() as http:
        own, env = _setup(settings, url, tmp_path, smtp, http)
        try:
            proc = start_notifier(env, log)
            try:
                produce_alerts(own, before)
                wait_until(lambda: set(_logged(own)) == _expected_keys(before), timeout=90,
                           what="the changes before the outage logged")  # fmt: skip
                server.down()
                produce_alerts(own, during)
                # Still retrying after they arrived: held, or left unread on the paused
                # partitions; either way not committed.
                seen = _retry_warnings(log)
                wait_until(lambda: _retry_warnings(log) > seen, timeout=60,
                           what="a retry after the changes arrived")  # fmt: skip
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(60) == 0, "a stop while waiting for PostgreSQL must exit 0"
            finally:
                if proc.poll() is None:
                    proc.kill()
            # Started again while PostgreSQL is still down: it waits for it, then replays the
            # held changes (they were not committed).
            waits = log.read_text().count(START_WAIT)
            with notifier(env, log) as again:
                wait_until(lambda: log.read_text().count(START_WAIT) > waits, timeout=60,
                           what="the restarted notifier waiting for PostgreSQL")  # fmt: skip
                assert again.poll() is None, "a notifier must wait for its database at start"
                server.up()
                wait_until(lambda: set(_logged(own)) == _expected_keys(changes), timeout=120,
                           what="the held changes logged after the restart")  # fmt: skip
            assert again.returncode == 0
        finally:
            print(log.read_text()[-4000:] if log.exists() else "(no notifier log)")
    keys = _logged(own)
    assert len(keys) == len(set(keys))
