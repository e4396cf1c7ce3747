"""Alerts: live (Redis), history (the archive's ``alert_changes``), and acknowledging one.

Tenancy (issue 18): the history and one alert are read through ``reads.tenancy.scoped`` for
the token's organisation, so a shipper's or receiver's token sees the changes of a truck only
while it carried one of its shipments (row-level security, migration 0055); the carrier's reads
are as before. One alert (live, from Redis) is shown to a tenant only when the archive shows it
a change of that alert under the same policy: an alert not archived yet (the bridge's lag, about
a second) answers 404 to a tenant until it is. Acknowledging stays the carrier's (api.auth).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Final

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from logistream.api import tenant_live
from logistream.api.auth import require
from logistream.api.errors import ApiError, responses
from logistream.api.filters import AlertFilter, history_where, matches
from logistream.api.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    decode_cursor,
    encode_cursor,
    split_page,
)
from logistream.api.routes.common import ID_PATTERN, alert_dict, backends, json_response, plain
from logistream.api.schemas import AckIn, AckOut, Alert, AlertHistory, Alerts, AlertState, Severity
from logistream.api.tokens import Principal
from logistream.audit.acks import send_and_record
from logistream.audit.trail import Actor
from logistream.commands import ack_command, publish_command
from logistream.live_views import RedisLiveViews
from logistream.reads import pages
from logistream.reads.tenancy import alert_visible, is_carrier, scoped, tenant_of

if TYPE_CHECKING:
    from logistream.events import AlertCommand

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require("read"))]
Acker = Annotated[Principal, Depends(require("ack"))]
AlertIdPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=ID_PATTERN, description="The alert's id.")
]
_CURSOR: Final = "alert-history"


def _filter(
    truck: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    rule: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    severity: Severity | None = None,
    state: AlertState | None = None,
    since: Annotated[
        float | None,
        Query(ge=0, le=1e11, allow_inf_nan=False, description="Unix epoch seconds, inclusive."),
    ] = None,
    until: Annotated[
        float | None,
        Query(ge=0, le=1e11, allow_inf_nan=False, description="Unix epoch seconds, exclusive."),
    ] = None,
) -> AlertFilter:
    f = AlertFilter(truck, rule, severity, state, since, until)
    try:
        f.check()
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return f


Filter = Annotated[AlertFilter, Depends(_filter)]


@router.get("/open", response_model=Alerts, responses=responses(401, 403, 422, 429, 503))
def open_alerts(request: Request, f: Filter, who: Reader) -> Response:
    """Open and acknowledged alerts now, most severe first (scope: read; live, from Redis).
    ``since``/``until`` apply to ``opened_at``. A shipper's or receiver's token: the alerts of
    the trucks carrying its active shipments, opened since the shipment was created."""
    live = RedisLiveViews(backends(request).redis)
    found = tenant_live.open_alerts_for(backends(request), who, live.open_alerts())
    alerts = [alert_dict(a) for a in found if matches(a, f)]
    return json_response({"alerts": alerts, "count": len(alerts)})


@router.get("", response_model=AlertHistory, responses=responses(401, 403, 422, 429, 503))
def alert_history(
    request: Request,
    f: Filter,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Every archived alert state change (opened, acknowledged, resolved), newest first
    (scope: read; from PostgreSQL, so complete). ``since``/``until`` apply to ``changed_at``;
    ``state`` to the change."""
    after: tuple[datetime, str, str] | None = None
    if cursor is not None:
        try:
            changed_at, alert_id, state = decode_cursor(_CURSOR, cursor, (datetime, str, str))
            after = (changed_at, alert_id, state)
        except BadCursor as error:
            raise ApiError(422, "invalid_cursor", str(error)) from None
    where, params = history_where(f, after)
    with backends(request).reader() as conn, scoped(conn, tenant_of(who.organisation)):
        rows = pages.alert_history_page(conn, where, params, limit)
    page, more = split_page(rows, limit)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(_CURSOR, last["changed_at"], last["alert_id"], last["state"])
    changes = [{k: v for k, v in plain(r).items() if v is not None} for r in page]
    return json_response({"changes": changes, "next_cursor": next_cursor})


@router.get("/{alert_id}", response_model=Alert, responses=responses(401, 403, 404, 422, 429, 503))
def alert(request: Request, alert_id: AlertIdPath, who: Reader) -> Response:
    """One alert in its latest state (scope: read; live, from Redis)."""
    found = RedisLiveViews(backends(request).redis).alert(alert_id)
    if found is None:
        raise _no_alert(alert_id)
    if not is_carrier(who.organisation):
        with backends(request).reader() as conn:
            if not alert_visible(conn, tenant_of(who.organisation), alert_id):
                raise _no_alert(alert_id)
    return json_response(alert_dict(found))


def _no_alert(alert_id: str) -> ApiError:
    return ApiError(
        404,
        "alert_not_found",
        f"No alert {alert_id!r} in the live views (resolved alerts are kept a week); see "
        "GET /v1/alerts/open, or GET /v1/alerts for the archive.",
    )


@router.post(
    "/{alert_id}/ack",
    response_model=AckOut,
    status_code=202,
    responses=responses(
        400,
        401,
        403,
        404,
        409,
        422,
        429,
        503,
        ok={200: {"model": AckOut, "description": "Applied by the speed layer."}},
    ),
)
def acknowledge(
    request: Request,
    alert_id: AlertIdPath,
    who: Acker,
    body: Annotated[AckIn, Body()] = AckIn(),  # noqa: B008 - an immutable default
    wait: Annotated[
        float | None,
        Query(ge=0, le=30, allow_inf_nan=False, description="Seconds to wait for it to apply."),
    ] = None,
) -> Response:
    """Acknowledge an open alert (scope: ack). The actor is the token's name. Sent as the same
    ``alert_commands`` command as the CLI and the dashboard; the speed layer applies it, and
    the change then reaches Redis, ``truck_alerts`` and the archive. 200 if applied within
    ``wait`` seconds, else 202 (it will be)."""
    api = backends(request)
    live = RedisLiveViews(api.redis)
    current = live.alert(alert_id)
    if current is None:
        raise _no_alert(alert_id)
    if current.state != "open":
        by = f" by {current.acknowledged_by}" if current.acknowledged_by else ""
        raise ApiError(
            409,
            f"alert_{current.state}",
            f"Alert {alert_id} is already {current.state}{by}; nothing to acknowledge.",
        )
    command = ack_command(current, who.name, body.note)
    from logistream.api.publish import KafkaUnavailable
    from logistream.errors import LogiStreamError

    def send(command: AlertCommand) -> None:
        try:
            publish_command(
                api.command_producer(), api.settings, command, api.options.kafka_timeout_s
            )
        except LogiStreamError as error:
            raise KafkaUnavailable(str(error)) from error

    # Audited once Kafka has it, on the owner's connection (audit.acks).
    send_and_record(api.owner(), Actor(who.name, "api", who.organisation), current, command, send)
    deadline = time.monotonic() + (api.options.ack_wait_s if wait is None else wait)
    latest = current
    while True:
        latest = live.alert(alert_id) or latest
        applied = latest.state != "open"
        if applied or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    out = {
        "command_id": command.command_id,
        "alert_id": alert_id,
        "by": who.name,
        "applied": applied,
        "alert": alert_dict(latest),
    }
    return json_response(out, status_code=200 if applied else 202)
