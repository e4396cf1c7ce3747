"""Errors as HTTP answers: every refusal has the :class:`~logistream.api.schemas.ErrorBody`
shape, including FastAPI's own (404 for an unknown path, 422 for a bad query parameter)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from logistream.api.schemas import ErrorBody
from logistream.errors import LogiStreamError, StoreUnavailable


class ApiError(LogiStreamError):
    """An HTTP answer other than 2xx: ``status``, the ``error`` code and a ``detail`` sentence."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail
        self.headers = headers or {}
        self.extra = extra


def error_response(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"error": error, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    return Response(
        msgspec.json.encode(body), status_code=status, media_type="application/json",
        headers=headers,
    )  # fmt: skip


def _validation_detail(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) + " (see /openapi.json for what each parameter accepts)"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.error, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, "invalid_request", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        detail = str(exc.detail)
        if exc.status_code == 400:
            detail = f"{detail}: send a JSON object, UTF-8 encoded, as the document shows."
        elif exc.status_code == 404:
            detail = "No such endpoint; see /openapi.json (or /docs) for the API's paths."
        return error_response(exc.status_code, code, detail, dict(exc.headers or {}))

    @app.exception_handler(StoreUnavailable)
    async def _store(_request: Request, exc: StoreUnavailable) -> Response:
        return error_response(
            503, f"{exc.store}_unavailable", str(exc), {"Retry-After": "5"}, service=exc.store
        )

    @app.exception_handler(RedisError)
    async def _redis(_request: Request, exc: RedisError) -> Response:
        return error_response(
            503,
            "redis_unavailable",
            f"Redis is not answering ({exc.__class__.__name__}); try again shortly (see /ready)",
            {"Retry-After": "5"},
            service="redis",
        )


def responses(
    *codes: int, ok: dict[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route may give (and ``ok``, its own)."""
    text = {
        400: "The body is not what the contract says.",
        401: "No token, or an unknown or revoked one.",
        403: "The token lacks the scope this needs.",
        404: "Not found.",
        409: "Conflicts with the current state.",
        413: "The body is too large.",
        422: "A parameter or reading is invalid.",
        429: "Rate limit reached; retry after Retry-After seconds.",
        503: "A backing service is down (which one is named).",
    }
    out: dict[int | str, dict[str, Any]] = dict(ok or {})
    out.update({code: {"model": ErrorBody, "description": text[code]} for code in codes})
    return out
