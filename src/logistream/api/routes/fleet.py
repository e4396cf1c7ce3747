"""The fleet now, from the speed layer's live views in Redis."""

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
from logistream.api.tokens import Principal
from logistream.live_views import RedisLiveViews, TruckView

router = APIRouter(prefix="/v1/trucks", tags=["fleet"])
Reader = Annotated[Principal, Depends(require("read"))]


def _with_mode(view: TruckView) -> dict[str, Any]:
    """The truck's body with the operating mode its live view carries (schemas.TruckMode)."""
    mode = msgspec.to_builtins(view.mode) if view.mode is not None else None
    return truck_dict(view) | {"mode": mode}


@router.get("", response_model=Fleet, responses=responses(401, 403, 429, 503))
def fleet(request: Request, _who: Reader) -> Response:
    """Every truck's latest reading and status (scope: read). Read from Redis at most every
    ``LOGISTREAM_API_FLEET_CACHE_S`` (0.5 s) and shared by the requests meanwhile; ``as_of``
    says when it was read."""
    api = backends(request)

    def read() -> bytes:
        views = RedisLiveViews(api.redis).fleet()
        trucks = [_with_mode(v) for v in views]
        return encode({"trucks": trucks, "count": len(trucks), "as_of": time.time()})

    body = api.fleet_snapshot.get(read)
    return Response(body, media_type="application/json")


@router.get("/{truck_id}", response_model=Truck, responses=responses(401, 403, 404, 422, 429, 503))
def truck(request: Request, truck_id: TruckIdPath, _who: Reader) -> Response:
    """One truck's latest reading, status and open alerts (scope: read)."""
    view = RedisLiveViews(backends(request).redis).truck(truck_id)
    if view is None:
        raise ApiError(
            404,
            "truck_not_found",
            f"The speed layer has no reading of truck {truck_id!r}; check the id (GET /v1/trucks "
            "lists them) or whether `logistream speed` is running.",
        )
    return json_response(_with_mode(view))
