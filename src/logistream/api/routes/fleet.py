"""The fleet now, from the speed layer's live views in Redis. A shipper's or receiver's token
sees only the trucks carrying its active shipments, and of each the alerts opened since the
shipment was created (``api.tenant_live``); another truck answers as an unknown one."""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from logistream.api.auth import require
from logistream.api.errors import ApiError, responses
from logistream.api.routes.common import TruckIdPath, backends, encode, json_response, truck_dict
from logistream.api.schemas import Fleet, Truck
from logistream.api.tenant_live import care_of, fleet_in_care, truck_in_care
from logistream.api.tokens import Principal
from logistream.live_views import RedisLiveViews, TruckView
from logistream.reads.tenancy import is_carrier

router = APIRouter(prefix="/v1/trucks", tags=["fleet"])
Reader = Annotated[Principal, Depends(require("read"))]


def _with_mode(view: TruckView) -> dict[str, Any]:
    """The truck's body with the operating mode its live view carries (schemas.TruckMode)."""
    mode = msgspec.to_builtins(view.mode) if view.mode is not None else None
    return truck_dict(view) | {"mode": mode}


@router.get("", response_model=Fleet, responses=responses(401, 403, 429, 503))
def fleet(request: Request, who: Reader) -> Response:
    """Every truck's latest reading and status (scope: read). Read from Redis at most every
    ``LOGISTREAM_API_FLEET_CACHE_S`` (0.5 s) and shared by the requests meanwhile; ``as_of``
    says when it was read. A shipper's or receiver's token: the trucks carrying its active
    shipments only, each with the alerts opened since its shipment was created (not cached)."""
    api = backends(request)
    if not is_carrier(who.organisation):
        windows = care_of(api, who.organisation)
        mine = [_with_mode(v) for v in fleet_in_care(RedisLiveViews(api.redis), windows)]
        return json_response({"trucks": mine, "count": len(mine), "as_of": time.time()})

    def read() -> bytes:
        views = RedisLiveViews(api.redis).fleet()
        trucks = [_with_mode(v) for v in views]
        return encode({"trucks": trucks, "count": len(trucks), "as_of": time.time()})

    body = api.fleet_snapshot.get(read)
    return Response(body, media_type="application/json")


@router.get("/{truck_id}", response_model=Truck, responses=responses(401, 403, 404, 422, 429, 503))
def truck(request: Request, truck_id: TruckIdPath, who: Reader) -> Response:
    """One truck's latest reading, status and open alerts (scope: read). A shipper's or
    receiver's token: 404 unless the truck carries one of its active shipments (as for a truck
    that does not exist), and only the alerts opened since that shipment was created."""
    api = backends(request)
    live = RedisLiveViews(api.redis)
    if is_carrier(who.organisation):
        view = live.truck(truck_id)
    else:
        view = truck_in_care(live, truck_id, care_of(api, who.organisation))
    if view is None:
        raise ApiError(
            404,
            "truck_not_found",
            f"The speed layer has no reading of truck {truck_id!r}; check the id (GET /v1/trucks "
            "lists them) or whether `logistream speed` is running.",
        )
    return json_response(_with_mode(view))
