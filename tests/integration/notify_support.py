"""Helpers (no tests) for the notifier's integration tests: a real SMTP server (aiosmtpd), a
local HTTP server that receives webhooks and plays the SMS gateway (with scripted 5xx, timeouts
and hangs), a real `logistream notify` process, and the ack pages served by uvicorn."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.helpers import running, stop_cleanly

from logistream.config import Settings
from logistream.events import Alert, encode
from logistream.stack.process import free_port

ACK_SECRET = "test-ack-secret-0123456789abcdef"
WEBHOOK_SECRET = "test-webhook-secret"
SMS_USER = "logistream-test"
SMS_KEY = "sms-api-key-test"
SMTP_USER = "mailer"
SMTP_PASSWORD = "mail-pw"


# ---- SMTP ----------------------------------------------------------------------------------


@dataclass
class Mail:
    rcpt: list[str]
    message: EmailMessage
    at: float


class SmtpServer:
    """aiosmtpd on a free port, with AUTH (plain, no TLS: a test server)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.mails: list[Mail] = []
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
                self, server: Any, session: Any, envelope: Any
            ) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                outer.mails.append(Mail(list(envelope.rcpt_tos), msg, time.time()))  # type: ignore[arg-type]
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                          auth_data: Any) -> AuthResult:  # fmt: skip
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            ) == (SMTP_USER, SMTP_PASSWORD)
            return AuthResult(success=ok)

        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
            auth_required=True, auth_require_tls=False,
        )  # fmt: skip

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


# ---- HTTP (webhook receiver and SMS gateway) -----------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records every request; answers SMS requests per ``sms_script`` and the others per
    ``hook_script`` (each consumed in order, then ``ok``):
    ``ok``, an HTTP status (int), ``timeout`` (answers after ``slow_s``), ``hang`` (answers once
    ``release`` is set). SMS answers are in Africa's Talking's JSON shape; ``sms_status`` sets
    the per-recipient statusCode."""

    sms_script: list[Any] = field(default_factory=list)
    hook_script: list[Any] = field(default_factory=list)
    slow_s: float = 3.0
    sms_status: int = 101
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def __enter__(self) -> HttpReceiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests.append(
                        Request(self.path, dict(self.headers.items()), body, time.time())
                    )
                    script = outer.sms_script if self.path.startswith("/sms") else outer.hook_script
                    action = script.pop(0) if script else "ok"
                if action == "timeout":
                    time.sleep(outer.slow_s)
                elif action == "hang":
                    outer.release.wait(120)
                if isinstance(action, int):
                    self._answer(action, b'{"error": "scripted"}')
                elif self.path.startswith("/sms"):
                    answer = {"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{
                        "statusCode": outer.sms_status, "number": "+254", "status": "Success",
                        "messageId": f"ATXid_{uuid.uuid4().hex[:8]}"}]}}  # fmt: skip
                    self._answer(201, json.dumps(answer).encode())
                else:
                    self._answer(200, b"{}")

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout test, or a killed notifier)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, prefix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]


# ---- routing, alerts, the notifier process -------------------------------------------------


def routing_toml(
    webhook_url: str,
    *,
    escalate_after_min: tuple[float, ...] = (),
    watchdog: str = "speed = false\nbridge = false",
    extra_route: str = "",
) -> str:
    levels = "".join(
        f'[[escalation.level]]\nafter_min = {m}\nnotify = ["{p}"]\nchannels = ["email", "sms"]\n'
        for m, p in zip(escalate_after_min, ("quality", "boss"), strict=False)
    )
    return f"""
timezone = "Africa/Nairobi"
[people.amina]
name = "Amina Otieno"
email = "amina@example.co.ke"
sms = "+254700000101"
[people.quality]
name = "Wanjiru Quality"
email = "quality@example.co.ke"
sms = "+254700000103"
[people.boss]
name = "Fleet Boss"
email = "boss@example.co.ke"
[people.partner]
name = "Partner TMS"
webhook = "{webhook_url}"
[roles.dispatcher_on_duty]
rota = [{{ from = "00:00", to = "00:00", person = "amina" }}]
[[route]]
notify = ["dispatcher_on_duty"]
[[route]]
severity = ["critical", "major"]
notify = ["partner"]
{extra_route}
[escalation]
severity = ["critical", "major"]
{levels}
[watchdog]
notify = ["dispatcher_on_duty"]
channels = ["email", "sms"]
{watchdog}
"""


def notify_env(
    base: dict[str, str],
    tmp_path: Path,
    routing: str,
    smtp_port: int,
    http: HttpReceiver,
    **extra: str,
) -> dict[str, str]:
    path = tmp_path / f"routing-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(routing)
    env = dict(base)
    env.update({
        "LOGISTREAM_NOTIFY_ROUTING_FILE": str(path),
        "LOGISTREAM_NOTIFY_ACK_SECRET": ACK_SECRET,
        "LOGISTREAM_NOTIFY_PUBLIC_URL": "http://127.0.0.1:1",
        "LOGISTREAM_NOTIFY_SMTP_HOST": "127.0.0.1",
        "LOGISTREAM_NOTIFY_SMTP_PORT": str(smtp_port),
        "LOGISTREAM_NOTIFY_SMTP_SECURITY": "none",
        "LOGISTREAM_NOTIFY_SMTP_USER": SMTP_USER,
        "LOGISTREAM_NOTIFY_SMTP_PASSWORD": SMTP_PASSWORD,
        "LOGISTREAM_NOTIFY_SMTP_TIMEOUT_S": "3",
        "LOGISTREAM_NOTIFY_MAIL_FROM": "LogiStream <alerts@logistream.test>",
        "LOGISTREAM_NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LOGISTREAM_NOTIFY_WEBHOOK_TIMEOUT_S": "2",
        "LOGISTREAM_NOTIFY_SMS_URL": http.url("/sms/messaging"),
        "LOGISTREAM_NOTIFY_SMS_USERNAME": SMS_USER,
        "LOGISTREAM_NOTIFY_SMS_API_KEY": SMS_KEY,
        "LOGISTREAM_NOTIFY_SMS_SENDER_ID": "LOGISTREAM",
        "LOGISTREAM_NOTIFY_SMS_TIMEOUT_S": "1",
        "LOGISTREAM_NOTIFY_BACKOFF_BASE_S": "0.3",
        "LOGISTREAM_NOTIFY_BACKOFF_MAX_S": "2",
        "LOGISTREAM_NOTIFY_CHECK_INTERVAL_S": "0.3",
    })  # fmt: skip
    env.update({f"LOGISTREAM_NOTIFY_{k.upper()}": v for k, v in extra.items()})
    return env


NOTIFY = [sys.executable, "-m", "logistream.notify"]


def start_notifier(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A notifier the test kills or stops itself (``stop_notifier``)."""
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(NOTIFY, env=env, stdout=out, stderr=out)


def stop_notifier(proc: subprocess.Popen[bytes], log: Path) -> None:
    stop_cleanly(proc, "logistream notify", log)


@contextmanager
def notifier(env: dict[str, str], log: Path) -> Iterator[Any]:
    """A real notifier subprocess; SIGTERM at the end must exit 0."""
    with running(NOTIFY, env, log, "logistream notify") as proc:
        yield proc


def alert(
    truck_id: str = "KCK 293K",
    *,
    state: str = "open",
    severity: str = "critical",
    rule: str = "temp_critical",
    alert_id: str | None = None,
    **extra: Any,
) -> Alert:
    now = time.time()
    fields: dict[str, Any] = {
        "alert_id": alert_id or str(uuid.uuid4()), "truck_id": truck_id, "rule": rule,
        "severity": severity, "state": state, "opened_at": now - 60, "changed_at": now,
        "message": f"{truck_id} (vaccines) passed 12 °C near Voi — 13.2 °C",
        "cargo": "vaccines", "value": 13.2, "threshold": 12.0, "lat": -3.39, "lon": 38.55,
        "trip_id": f"{truck_id}-trip-1",
    }  # fmt: skip
    fields.update(extra)
    return Alert(**fields)


def produce_alerts(settings: Settings, alerts: list[Alert]) -> None:
    """As the speed layer does: one JSON change per message, key = truck_id."""
    from logistream.kafka import make_producer

    producer = make_producer(settings)
    for a in alerts:
        producer.produce(settings.topic_alerts, key=a.truck_id, value=encode(a))
    assert producer.flush(30) == 0


def log_rows(settings: Settings, where: str = "TRUE") -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    assert settings.database_url
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        try:
            return conn.execute(
                f"SELECT *, extract(epoch FROM sent_at) AS sent_epoch FROM notifications "
                f"WHERE {where} ORDER BY notification_id"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return []


# ---- the ack pages -------------------------------------------------------------------------


@contextmanager
def ack_server(settings: Settings) -> Iterator[str]:
    """The ack router mounted in a small FastAPI app, served by uvicorn on a free port."""
    import uvicorn
    from fastapi import FastAPI

    from logistream.api.ack_links import build_router

    app = FastAPI()
    app.include_router(build_router(settings, ACK_SECRET))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
