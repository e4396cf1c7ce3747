"""The live stream of alert changes and truck updates (Server-Sent Events)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from logistream import live_views
from logistream.api.auth import require
from logistream.api.errors import responses
from logistream.api.routes.common import ID_PATTERN, backends
from logistream.api.streaming import STREAM_ID_PATTERN, events
from logistream.api.tokens import Principal

router = APIRouter(prefix="/v1", tags=["live"])
Reader = Annotated[Principal, Depends(require("read"))]


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses=responses(
        401,
        403,
        422,
        429,
        503,
        ok={
            200: {
                "description": "Server-Sent Events: `alert` (data: an Alert, id: its stream "
                "id) and `truck` (data: a Truck).",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    ),
)
async def stream(
    request: Request,
    _who: Reader,
    truck: Annotated[
        str | None, Query(max_length=64, pattern=ID_PATTERN, description="Only this truck.")
    ] = None,
    trucks: Annotated[bool, Query(description="Also send truck updates.")] = True,
    since: Annotated[
        str,
        Query(
            pattern=STREAM_ID_PATTERN,
            description="Start after this alert stream id ('$': only new, '0': the kept "
            "history, about the last 10,000 changes).",
        ),
    ] = "$",
    last_event_id: Annotated[
        str | None,
        Header(
            pattern=STREAM_ID_PATTERN, description="Resume after this id (EventSource sends it)."
        ),
    ] = None,
) -> StreamingResponse:
    """Alert changes as the speed layer makes them (within milliseconds, no polling) and truck
    updates (at most once a second per truck), as Server-Sent Events (scope: read). Reconnect
    with ``Last-Event-ID`` to get the alert changes missed meanwhile."""
    api = backends(request)
    body = events(
        api.redis_async,
        since=last_event_id or since,
        truck=truck,
        trucks=trucks,
        scan_s=api.options.stream_truck_scan_s,
        keepalive_s=api.options.stream_keepalive_s,
        read_truck=partial(live_views.read_truck, api.redis),
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
