"""HTTP ingest for devices that cannot speak Kafka: one reading or a JSON array of them."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from logistream.api.auth import require
from logistream.api.errors import ApiError, responses
from logistream.api.ingest import BodyRefused, split_body, summary, validate
from logistream.api.routes.common import backends, json_response
from logistream.api.schemas import IngestOut
from logistream.api.tokens import Principal

router = APIRouter(prefix="/v1/readings", tags=["ingest"])
Ingester = Annotated[Principal, Depends(require("ingest"))]

_READING_REF = {"$ref": "#/components/schemas/ReadingIn"}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _READING_REF,
                        {"type": "array", "items": _READING_REF, "minItems": 1, "maxItems": 1000},
                    ]
                }
            }
        },
    }
}


def _rejected(rejections: list[Any]) -> list[dict[str, Any]]:
    return [
        {"index": r.index, "reason": r.reason, "field": r.field, "detail": r.detail}
        for r in rejections
    ]


@router.post(
    "",
    response_model=IngestOut,
    status_code=202,
    openapi_extra=_BODY,
    responses=responses(400, 401, 403, 413, 422, 429, 503),
)
async def ingest(request: Request, _who: Ingester) -> Response:
    """Accept one reading (a JSON object in the DESIGN.md contract) or a batch (a JSON array),
    validated exactly as the pipeline does (same reason codes), then produced to
    ``truck_telemetry`` keyed by ``truck_id`` with the durable producer. 202 comes only after
    Kafka acknowledged every reading. A batch is all-or-nothing; resending is safe (the archive
    keeps each ``event_id`` once; without one it is derived from truck and time)."""
    api = backends(request)
    body = await request.body()
    try:
        raws, batch = split_body(body, api.options.max_batch)
    except BodyRefused as refused:
        raise ApiError(
            400, refused.rejection.reason, refused.rejection.detail,
            rejected=_rejected([refused.rejection]),
        ) from None  # fmt: skip
    accepted, rejected = validate(
        raws,
        batch=batch,
        now_ms=int(time.time() * 1000),
        max_bytes=api.settings.max_message_bytes,
        future_tolerance_s=api.settings.future_tolerance_s,
    )
    if rejected:
        status = 400 if not batch and rejected[0].reason == "invalid_json" else 422
        raise ApiError(
            status, "invalid_readings", summary(rejected, len(raws)), rejected=_rejected(rejected)
        )
    topic = api.settings.topic_telemetry
    messages = [(a.reading.truck_id, a.raw) for a in accepted]
    # Blocking on Kafka belongs in a worker thread, not on the event loop.
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(api.publisher().publish, topic, messages)
    ids = [str(a.reading.event_id) for a in accepted]
    return json_response({"accepted": len(ids), "event_ids": ids, "topic": topic}, 202)
