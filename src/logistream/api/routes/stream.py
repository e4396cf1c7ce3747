"""The live stream of alert changes and truck updates (Server-Sent Events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from logistream.api.auth import require
from logistream.api.backends import Backends
from logistream.api.errors import responses
from logistream.api.routes.common import ID_PATTERN, backends
from logistream.api.streaming import EVENT_ID_PATTERN, SINCE_PATTERN, events, start_after
from logistream.api.tenant_live import CareCache, care_of, truck_in_care
from logistream.api.tokens import Principal
from logistream.live_views import RedisLiveFeed, RedisLiveViews, ShipmentLive, TruckView
from logistream.reads.tenancy import is_carrier, tenant_of, visible_shipments

router = APIRouter(prefix="/v1", tags=["live"])
Reader = Annotated[Principal, Depends(require("read"))]


def tenant_shipments(
    api: Backends, organisation: str, read: Callable[[str], ShipmentLive | None]
) -> Callable[[str], ShipmentLive | None]:
    """``read`` for the shipments ``organisation`` is party to (asked once per shipment of the
    stream under row-level security: a shipment's shipper and receiver never change), None for
    the others: the one filter of a shipper's or receiver's live stream."""
    seen: dict[str, bool] = {}

    def filtered(shipment_id: str) -> ShipmentLive | None:
        if shipment_id not in seen:
            with api.reader() as conn:
                seen[shipment_id] = bool(visible_shipments(conn, organisation, [shipment_id]))
        return read(shipment_id) if seen[shipment_id] else None

    return filtered


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
                "description": "Server-Sent Events: `alert` (data: an Alert; id: the change's "
                "sequence number, a whole number given by LogiStream that increases with every "
                "alert change, also after the API restarts or the live views are rebuilt), "
                "`truck` (data: a Truck; no id) and `shipment` (data: a tracked shipment's live "
                "state: stage, ETA per stop, predicted arrival temperature; no id).",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    ),
)
async def stream(
    request: Request,
    who: Reader,
    truck: Annotated[
        str | None, Query(max_length=64, pattern=ID_PATTERN, description="Only this truck.")
    ] = None,
    trucks: Annotated[bool, Query(description="Also send truck updates.")] = True,
    shipments: Annotated[
        bool, Query(description="Also send shipment updates (stage, ETAs), at most once a second.")
    ] = True,
    since: Annotated[
        str,
        Query(
            pattern=SINCE_PATTERN,
            description="Start after this alert change sequence number (an `alert` event's "
            "id); '$': only changes from now on; '0': every kept change (about the last "
            "10,000).",
        ),
    ] = "$",
    last_event_id: Annotated[
        str | None,
        Header(
            pattern=EVENT_ID_PATTERN,
            description="Resume after this alert change sequence number (the id of the last "
            "`alert` event received; EventSource sends it); wins over `since`.",
        ),
    ] = None,
) -> StreamingResponse:
    """Alert changes as the speed layer makes them (within milliseconds, no polling), truck
    updates (at most once a second per truck) and shipment updates (stage, ETA per stop,
    predicted arrival temperature; at most once a second each), as Server-Sent Events (scope:
    read). A shipper's or receiver's token gets its own shipments' updates, and the alert
    changes and updates of the trucks carrying its active shipments (alerts opened since the
    shipment was created), checked again every 5 s. Reconnect
    with ``Last-Event-ID`` (any API server, after a restart too) to get the alert changes missed
    meanwhile, as long as they are among the kept ones."""
    api = backends(request)
    live = RedisLiveViews(api.redis)
    read_shipment: Callable[[str], ShipmentLive | None] = live.shipment
    read_truck: Callable[[str], TruckView | None] = live.truck
    care: CareCache | None = None
    # A shipper's or receiver's token: its shipments' events, and its trucks' while in care.
    if not is_carrier(who.organisation):
        read_shipment = tenant_shipments(api, tenant_of(who.organisation), read_shipment)
        cache = care = CareCache(lambda: care_of(api, who.organisation))

        def read_truck(truck_id: str) -> TruckView | None:
            return truck_in_care(live, truck_id, cache.get())

    body = events(
        RedisLiveFeed(api.redis_async),
        after=start_after(since, last_event_id),
        truck=truck,
        trucks=trucks,
        scan_s=api.options.stream_truck_scan_s,
        keepalive_s=api.options.stream_keepalive_s,
        read_truck=read_truck,
        shipments=shipments,
        read_shipment=read_shipment,
        windows=care.windows if care is not None else None,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
