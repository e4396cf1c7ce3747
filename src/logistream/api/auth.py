"""The FastAPI side of tokens: ``Depends(require("read"))`` on every route but health.

Order: a token must be sent, be well formed, be known and not revoked (else 401), carry the
scope (else 403), and be within its rate (else 429). Refused tokens count against the client's
address, so guessing tokens is slow and does not reach PostgreSQL more than the limit allows.

Tenancy (issue 18): a token of a shipper or receiver organisation reads its shipments
(``/v1/shipments``, scoped by row-level security), the live stream, trucks and open alerts (its
trucks only, while they carry its shipments), the alert history, one alert, trips and their
readings and reports (row-level security, migration 0055); every other route (ingest,
acknowledgements, operating modes, the pipeline) is refused with 403 here, in one place. A
token of no organisation, or of the carrier, is the carrier's systems and keeps every route.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fastapi import Request, Security
from fastapi.security import HTTPBearer

from logistream.api.backends import Backends
from logistream.api.errors import ApiError
from logistream.api.limits import RateLimiter
from logistream.api.tokens import AuthProblem, Principal, Scope, bearer_token, scope_problem
from logistream.reads.tenancy import is_carrier

TENANT_ROUTES: Final = ("/v1/shipments", "/v1/stream", "/v1/trucks", "/v1/alerts/open")
"""Path prefixes a shipper's or receiver's token may use."""
TENANT_ROUTES_ARCHIVE: Final = ("/v1/alerts", "/v1/trips")
"""Alert history and detail, trips and their reports: read under row-level security (0055)."""
CARRIER_ONLY_SUFFIXES: Final = ("/ack", "/mode")
"""Under a tenant's prefixes, still the carrier's: tenants read alerts and trucks, never
acknowledge an alert or set or end a truck's operating mode (POST/DELETE
/v1/trucks/{id}/mode)."""

# Declares the scheme in the OpenAPI document; the header is parsed below, for clear answers.
bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="lsapi_…",
    description="An API token from `logistream api token create NAME --scope "
    "read|ack|ingest|shipments`.",
)


@dataclass(frozen=True, slots=True)
class Limiters:
    per_token: RateLimiter
    auth_failures: RateLimiter


def _retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def _refuse(problem: AuthProblem, request: Request, limiters: Limiters) -> ApiError:
    client = request.client.host if request.client else "unknown"
    wait = limiters.auth_failures.take(client)
    if wait > 0:
        return ApiError(
            429,
            "too_many_failures",
            f"Too many refused tokens from {client}; wait {math.ceil(wait)} s. Last refusal: "
            f"{problem.detail}",
            headers=_retry_after(wait),
        )
    headers = {"WWW-Authenticate": 'Bearer realm="logistream"'} if problem.status == 401 else None
    return ApiError(
        problem.status,
        problem.code,
        problem.detail,
        headers=headers,
        missing_scope=problem.missing_scope,
    )


def tenant_may_use(path: str) -> bool:
    """Whether a shipper's or receiver's token may call ``path``."""
    if path.endswith(CARRIER_ONLY_SUFFIXES):
        return False
    return any(
        path == p or path.startswith(p + "/") for p in (*TENANT_ROUTES, *TENANT_ROUTES_ARCHIVE)
    )


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency that returns the token's :class:`Principal` or refuses the request."""

    def dependency(request: Request, _declared: object = Security(bearer_scheme)) -> Principal:
        backends: Backends = request.app.state.backends
        limiters: Limiters = request.app.state.limiters
        token = bearer_token(request.headers.get("authorization"))
        if isinstance(token, AuthProblem):
            raise _refuse(token, request, limiters)
        found = backends.tokens.resolve(token)
        if isinstance(found, AuthProblem):
            raise _refuse(found, request, limiters)
        problem = scope_problem(found, scope)
        if problem is not None:
            raise _refuse(problem, request, limiters)
        if not is_carrier(found.organisation) and not tenant_may_use(request.url.path):
            raise ApiError(
                403,
                "shipments_only",
                f"The token {found.name!r} acts for organisation {found.organisation!r}: a "
                "shipper's token reads its shipments; trucks and alerts of a shipment come with "
                "it (GET /v1/shipments, /v1/stream).",
            )
        wait = limiters.per_token.take(found.name)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"The token {found.name!r} is above its rate of "
                f"{limiters.per_token.rate:g} requests/s (burst {limiters.per_token.burst:g}); "
                f"retry in {math.ceil(wait)} s.",
                headers=_retry_after(wait),
            )
        return found

    dependency.__name__ = f"require_{scope}"
    return dependency
