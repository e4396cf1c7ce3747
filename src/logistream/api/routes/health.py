"""Liveness, readiness (which backing service is down) and the pipeline's health."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from logistream.api.auth import require
from logistream.api.errors import responses
from logistream.api.pipeline import bridge_state, speed_state
from logistream.api.routes.common import backends, json_response
from logistream.api.schemas import Health, Pipeline, Ready
from logistream.api.tokens import Principal
from logistream.live_views import RedisLiveViews
from logistream.reads.heartbeats import bridge_beats

router = APIRouter(tags=["health"])
Reader = Annotated[Principal, Depends(require("read"))]


@router.get("/health", response_model=Health)
async def health() -> Response:
    """Liveness: the API process answers (no token; checks nothing behind it)."""
    return json_response({"status": "ok"})


def _check(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    try:
        detail = probe()
    except Exception as error:
        return name, {"ok": False, "detail": f"{name} is down: {error.__class__.__name__}: {error}"}
    return name, {"ok": True, "detail": detail}


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "Not ready: the down services are named."}},
)
async def ready(request: Request) -> Response:
    """Readiness (no token): Redis, PostgreSQL and Kafka each answer. 503 names the ones down."""
    api = backends(request)

    def redis_probe() -> str:
        api.redis.ping()
        return "redis answers"

    def postgres_probe() -> str:
        with api.reader() as conn:
            conn.execute("SELECT 1")
        return "postgres answers (read-only role)"

    def kafka_probe() -> str:
        return f"kafka answers ({api.kafka_metadata()} broker(s))"

    checks = await asyncio.gather(
        *(
            asyncio.to_thread(_check, name, probe)
            for name, probe in (
                ("redis", redis_probe),
                ("postgres", postgres_probe),
                ("kafka", kafka_probe),
            )
        )
    )
    services = dict(checks)
    ok = all(s["ok"] for s in services.values())
    return json_response({"ready": ok, "services": services}, status_code=200 if ok else 503)


@router.get("/v1/pipeline", response_model=Pipeline, responses=responses(401, 403, 429, 503))
def pipeline(request: Request, _who: Reader) -> Response:
    """Is the pipeline moving (scope: read): speed-layer heartbeats and lag (Redis), bridge
    heartbeats and lag (PostgreSQL). A store that does not answer is reported, not an error."""
    api = backends(request)
    now = time.time()
    try:
        beats = RedisLiveViews(api.redis).heartbeats(now=now)
        speed, speed_rows = speed_state(beats)
    except Exception as error:
        speed, speed_rows = {"ok": False, "detail": f"redis is down: {error}"}, []
    try:
        with api.reader() as conn:
            bridges = bridge_beats(conn, api.settings.bridge_group)
        bridge, bridge_rows = bridge_state(bridges, now)
    except Exception as error:
        bridge, bridge_rows = {"ok": False, "detail": f"postgres is down: {error}"}, []
    return json_response(
        {
            "ok": speed["ok"] and bridge["ok"],
            "speed": speed,
            "speed_instances": speed_rows,
            "bridge": bridge,
            "bridge_instances": bridge_rows,
        }
    )
