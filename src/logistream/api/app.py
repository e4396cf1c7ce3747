"""The app factory: ``create_app(settings, options)``. Connections open at start-up, lazily and
without waiting, so the API serves ``/health`` and ``/ready`` while a store is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI

from logistream.api import errors
from logistream.api.auth import Limiters
from logistream.api.backends import Backends
from logistream.api.limits import BodySizeLimit, RateLimiter
from logistream.api.options import ApiOptions
from logistream.config import Settings

TITLE: Final = "LogiStream integration API"
API_VERSION: Final = "1.0.0"
DESCRIPTION: Final = """\
Read the reefer fleet's live state and the archive, acknowledge alerts, follow a live stream of
alert changes and truck updates, send readings over HTTP, and create and follow shipments.

**Auth.** Every endpoint but `/health` and `/ready` needs `Authorization: Bearer <token>`, from
`logistream api token create NAME --scope read|ack|ingest|shipments` (scopes may be combined;
`shipments` creates and cancels shipments and sets their stage, each change logged under the
token's name). 401: no token, or an unknown or revoked one; 403: the token lacks the scope (the
body names it).

**Limits.** Each token may make `burst` requests at once, then `rate_per_s` per second (a token
bucket per API process; defaults 100 and 50/s, `LOGISTREAM_API_BURST`,
`LOGISTREAM_API_RATE_PER_S`); above it, 429 with `Retry-After`. Refused tokens are limited per
client address (`LOGISTREAM_API_AUTH_FAILURES_PER_MIN`). Bodies above
`LOGISTREAM_API_MAX_BODY_BYTES` (1 MiB) get 413; a batch holds at most
`LOGISTREAM_API_MAX_BATCH` (1000) readings.

**Errors.** Every error body is `{"error": code, "detail": sentence}`, plus `missing_scope`,
`service` or `rejected` where they apply. Times are Unix epoch seconds.
"""


def create_app(
    settings: Settings, options: ApiOptions | None = None, backends: Backends | None = None
) -> FastAPI:
    """The API. ``backends`` (for tests) defaults to connections opened at start-up."""
    from logistream.api.routes import alerts, fleet, health, ingest, modes, shipments, stream, trips

    options = options or ApiOptions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = backends is None
        app.state.backends = backends or Backends(settings, options)
        # Shipment changes an earlier process stored but did not publish are sent now.
        app.state.shipment_outbox = shipments.start_outbox(app.state.backends)
        try:
            yield
        finally:
            app.state.shipment_outbox.close()
            if owned:
                await app.state.backends.aclose()

    servers: list[dict[str, Any]] | None = (
        [{"url": options.public_url.rstrip("/")}] if options.public_url else None
    )
    app = FastAPI(
        title=TITLE,
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        servers=servers,
    )
    app.state.options = options
    app.state.limiters = Limiters(
        per_token=RateLimiter(options.rate_per_s, options.burst),
        auth_failures=RateLimiter(
            options.auth_failures_per_min / 60.0, max(1.0, options.auth_failures_per_min / 2)
        ),
    )
    errors.install(app)
    for module in (health, fleet, alerts, trips, ingest, stream, shipments, modes):
        app.include_router(module.router)
    # The confirmation pages behind the notifier's signed ack links (not part of the OpenAPI).
    from logistream.api.ack_links import build_router

    app.include_router(build_router(settings))
    app.add_middleware(BodySizeLimit, limit=options.max_body_bytes)
    _document_reading_schema(app)
    return app


def _document_reading_schema(app: FastAPI) -> None:
    """Ingest parses its body itself (to answer with the pipeline's reason codes), so FastAPI
    does not see ``ReadingIn``: add it to the document's components."""
    from logistream.api.schemas import ReadingIn

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schema = ReadingIn.model_json_schema(ref_template="#/components/schemas/{model}")
            document["components"]["schemas"]["ReadingIn"] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the default configuration (what ``docs/openapi.json`` holds)."""
    app = create_app(Settings(), ApiOptions())
    return app.openapi()
