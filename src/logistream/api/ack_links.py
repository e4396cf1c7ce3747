"""The ack-link pages: GET shows a confirmation page, only its button (a POST) acknowledges.

Mail scanners and link previews follow links with GET, so a GET never changes anything. The
POST checks the signed token again and publishes an acknowledgement on ``alert_commands``
(``logistream.commands``) in the name inside the token; the speed layer applies it. It is on
the audit trail (``audit.acks``) as that name, source ``api``, ``after.via`` = ``ack_link``.

The API includes the pages with ``app.include_router(ack_links.build_router(settings))``.
"""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from logistream.config import Settings, resolve_endpoints
from logistream.display_time import show
from logistream.errors import ConfigError, LogiStreamError
from logistream.events import Alert, AlertCommand
from logistream.link_tokens import LinkClaims, LinkError, ack_secret, read_token

if TYPE_CHECKING:
    from logistream.kafka import Producer

MAX_NOTE: Final = 500
_HEADERS: Final = {
    # The token is in the URL: never leak it to another site, never cache or index the page.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_STATUS_FOR: Final = {"expired": 410, "forged": 403, "malformed": 404}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · LogiStream</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}"
        "button{font-size:1.1rem;padding:.6rem 1.2rem}textarea{width:100%}"
        ".crit{color:#b00020}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=_HEADERS)


def _describe(alert: Alert, timezone: str) -> str:
    rows = [
        ("Truck", alert.truck_id),
        ("Cargo", alert.cargo),
        ("Alert", f"{alert.rule} ({alert.severity})"),
        ("State", alert.state),
        ("Opened", show(alert.opened_at, timezone, seconds=False)),
    ]
    items = "".join(f"<li>{k}: {html.escape(str(v))}</li>" for k, v in rows if v)
    return f"<p class='crit'>{html.escape(alert.message)}</p><ul>{items}</ul>"


class _Backend:
    """Redis (to show the alert and find its truck) and a Kafka producer, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._redis: Any = None
        self._producer: Producer | None = None

    def alert(self, alert_id: str) -> Alert | None:
        import redis

        from logistream.live_views import RedisLiveViews

        with self._lock:
            if self._redis is None:
                self._redis = redis.Redis.from_url(
                    resolve_endpoints(self.settings).redis_url, socket_timeout=5
                )
        return RedisLiveViews(self._redis).alert(alert_id)

    def publish(self, command: AlertCommand) -> None:
        from logistream.commands import publish_command
        from logistream.kafka import durable_producer

        with self._lock:
            if self._producer is None:
                self._producer = durable_producer(self.settings)
            publish_command(self._producer, self.settings, command, timeout_s=15.0)


def build_router(settings: Settings, key: str | None = None, *, prefix: str = "/ack") -> APIRouter:
    """The ack pages under ``prefix`` (the notifier's links point at ``/ack/<token>``).

    ``key`` signs the links (default: ``LOGISTREAM_NOTIFY_ACK_SECRET``, else the secrets file).
    """
    from logistream.audit.acks import AckNotRecorded, owner_connection, send_and_record
    from logistream.audit.trail import Actor
    from logistream.commands import ack_command

    try:
        secret: bytes | None = ack_secret(settings, key)
    except ConfigError as error:
        # The API must still start without the notifier's key; the pages then say what to set.
        secret, missing = None, str(error)
    backend = _Backend(settings)

    def describe(alert: Alert) -> str:
        return _describe(alert, settings.timezone)

    router = APIRouter(prefix=prefix, include_in_schema=False)

    def claims_or_page(token: str) -> LinkClaims | HTMLResponse:
        if secret is None:
            return _page("Ack links are not set up", f"<p>{html.escape(missing)}</p>", 503)
        try:
            return read_token(secret, token, time.time())
        except LinkError as error:
            return _page("Link refused", f"<p>{html.escape(str(error))}</p>",
                         _STATUS_FOR.get(error.reason, 403))  # fmt: skip

    def unknown(alert_id: str) -> HTMLResponse:
        return _page(
            "Alert not found",
            f"<p>Alert {html.escape(alert_id)} is not in the live views (resolved long ago, or "
            "the speed layer is rebuilding them). Check the control room.</p>",
            404,
        )

    def not_open(alert: Alert) -> HTMLResponse | None:
        if alert.state == "acknowledged":
            return _page("Already acknowledged", describe(alert) + "<p>Acknowledged by "
                         f"{html.escape(alert.acknowledged_by or 'someone')}.</p>")  # fmt: skip
        if alert.state == "resolved":
            return _page("Already resolved", describe(alert) + "<p>Nothing to do.</p>")
        return None

    @router.get("/{token}", response_class=HTMLResponse)
    def confirm_page(token: str) -> HTMLResponse:
        claims = claims_or_page(token)
        if isinstance(claims, HTMLResponse):
            return claims
        alert = backend.alert(claims.alert_id)
        if alert is None:
            return unknown(claims.alert_id)
        done = not_open(alert)
        if done is not None:
            return done
        who = html.escape(claims.name)
        form = (
            "<form method='post'>"
            f"<p><label>Note (what is being done):<br><textarea name='note' rows='3' "
            f"maxlength='{MAX_NOTE}'></textarea></label></p>"
            f"<p><button type='submit'>Acknowledge as {who}</button></p></form>"
            "<p>Opening this page acknowledged nothing; only the button does.</p>"
        )
        return _page("Acknowledge this alert?", describe(alert) + form)

    @router.post("/{token}", response_class=HTMLResponse)
    async def acknowledge(token: str, request: Request) -> HTMLResponse:
        claims = claims_or_page(token)
        if isinstance(claims, HTMLResponse):
            return claims
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        note = (form.get("note", [""])[0] or "").strip()[:MAX_NOTE] or "acknowledged from a link"
        alert = await run_in_threadpool(backend.alert, claims.alert_id)
        if alert is None:
            return unknown(claims.alert_id)
        done = not_open(alert)
        if done is not None:
            return done
        command, actor = ack_command(alert, claims.name, note), Actor(claims.name, "api")

        def send() -> int:  # audited once Kafka has it (audit.acks)
            owner = owner_connection(settings)
            return send_and_record(owner, actor, alert, command, backend.publish, "ack_link")

        try:
            await run_in_threadpool(send)
        except LogiStreamError as error:
            unaudited = isinstance(error, AckNotRecorded)
            title = "Acknowledged, not audited" if unaudited else "Not acknowledged"
            return _page(title, f"<p>{html.escape(str(error))}</p>", 503)
        return _page(
            "Acknowledged",
            describe(alert) + f"<p>Acknowledged as {html.escape(claims.name)}. The control "
            "room shows it within seconds; escalation stops.</p>",
        )

    return router
