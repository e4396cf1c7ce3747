"""Operating modes per truck (issue 18): set, end early, approve, refuse, list.

The same code as ``logistream modes`` (``ModeStore`` on the owner's connection, each change one
transaction with its audit line, source ``api``, actor = the token's name), then the change is
published on the compacted ``truck_modes`` topic by this module's outbox (the ``ModePublisher``
of the CLI, one per app, started and closed by the router's lifespan; what an earlier process
left unpublished is sent at start, in a thread). A Kafka outage after the commit answers 202
with ``published: false`` and a warning; the change stays stored and is sent at the next start.

Choices where the issue is silent:

- Scope: writes (set, end, approve, refuse) need ``shipments``, the scope the API already has
  for a dispatcher's writes (creating, cancelling and staging shipments); no new scope. Reads
  need ``read``. Approval over the API: a carrier token with ``shipments`` stands for the
  carrier's admin systems, and must not bear the name of who set the mode (``rules.py``).
- Every route is the carrier's: a token acting for a shipper or receiver organisation is
  refused with 403, reads included (a shipper sees a truck only while it carries its cargo;
  the modes of that time come with the shipment, not from here).
- ``DELETE /v1/trucks/{truck_id}/mode`` takes its reason as the query parameter ``reason`` (a
  DELETE with a body is dropped by some proxies).
- Times are Unix epoch seconds, as everywhere in this API.

Refusals: 422 invalid (the field and what to fix), 403 not allowed (a viewer-like token
without the scope, a shipper's token, the setter approving), 404 unknown truck or mode, 409 a
truck already in a mode (or in none, to end), a mode no longer waiting for approval.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from logistream.api.auth import require
from logistream.api.backends import Backends
from logistream.api.errors import ApiError, responses
from logistream.api.outbox import ApiOutbox
from logistream.api.routes.common import ID_PATTERN, TruckIdPath, backends, json_response
from logistream.api.schemas import ErrorBody
from logistream.api.tokens import Principal
from logistream.errors import NotFound, Refused
from logistream.modes.rules import MAX_REASON, ModeActor, is_carrier

if TYPE_CHECKING:
    import psycopg

    from logistream.modes.store import ModeStore, StoredMode

log = logging.getLogger("logistream.api.modes")

Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("shipments"))]
ModeIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The mode's id.")
]
Kind = Literal["precooling", "maintenance", "washout"]
Status = Literal["pending_approval", "active", "ended", "refused"]
_STATUS_CODES: Final = {"invalid": 422, "forbidden": 403, "conflict": 409}
_ERROR_CODES: Final = {
    "invalid": "invalid_mode",
    "forbidden": "forbidden",
    "conflict": "mode_conflict",
}


# ---- the documents -----------------------------------------------------------------------------


class ModeIn(BaseModel):
    """A mode to set on a truck, from now to ``ends_at``."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Why (on the record).")
    ends_at: float = Field(
        ge=0, le=4_102_444_800, description="When it ends by itself (epoch s); at most 7 days on."
    )


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Why (on the record).")


class Mode(BaseModel):
    """A truck's operating mode as stored (PostgreSQL is the source of truth)."""

    mode_id: str
    truck_id: str
    kind: Kind
    reason: str
    status: Status = Field(
        description="pending_approval (a truck with an active shipment: a carrier admin "
        "approves it), active, ended (by hand or at its end time) or refused."
    )
    starts_at: float
    ends_at: float
    ended_at: float | None = Field(None, description="Ended early by hand.")
    ended_by: str | None = None
    end_reason: str | None = None
    set_by: str
    set_source: str
    approved_by: str | None = Field(None, description="Who approved (or refused) it.")
    approved_at: float | None = None
    version: int = Field(description="The version on the truck_modes topic (0: not on it).")


class ModeWritten(Mode):
    published: bool = Field(
        description="Whether Kafka has the change on the truck_modes topic. False with a "
        "warning (HTTP 202): stored, sent when Kafka is back. False without one: a mode "
        "waiting for approval (or refused) is never published."
    )
    warning: str | None = None


class Modes(BaseModel):
    items: list[Mode]


class ModeRefusal(ErrorBody):
    field: str | None = Field(None, description="The field at fault.")


def _mode_dict(mode: StoredMode) -> dict[str, Any]:
    def epoch(moment: datetime | None) -> float | None:
        return None if moment is None else moment.timestamp()

    return {
        "mode_id": mode.mode_id,
        "truck_id": mode.truck_id,
        "kind": mode.kind,
        "reason": mode.reason,
        "status": mode.shown_status(datetime.now(UTC)),
        "starts_at": mode.starts_at.timestamp(),
        "ends_at": mode.ends_at.timestamp(),
        "ended_at": epoch(mode.ended_at),
        "ended_by": mode.ended_by,
        "end_reason": mode.end_reason,
        "set_by": mode.set_by,
        "set_source": mode.set_source,
        "approved_by": mode.approved_by,
        "approved_at": epoch(mode.approved_at),
        "version": mode.version,
    }


# ---- the outbox --------------------------------------------------------------------------------

Connect = Callable[[], AbstractContextManager["psycopg.Connection[Any]"]]


class ModeOutbox(ApiOutbox):
    """The API's modes outbox (:mod:`logistream.api.outbox`), on the ``truck_modes`` topic."""

    def __init__(self, api: Backends) -> None:
        from logistream.modes.publish import ModePublisher

        publisher = ModePublisher(
            api.settings, api.endpoints, timeout_s=api.options.kafka_timeout_s
        )
        super().__init__(publisher, "mode", "logistream modes")


@contextmanager
def _owner(api: Backends) -> Iterator[psycopg.Connection[Any]]:
    """The owner's connection in autocommit: each change commits before it is published."""
    with api.owner() as conn:
        conn.autocommit = True
        yield conn


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    api: Backends = app.state.backends  # set by the app's lifespan, which runs first
    box = ModeOutbox(api)
    box.heal_in_background(lambda: _owner(api))
    app.state.mode_outbox = box
    try:
        yield
    finally:
        box.close()


trucks_router = APIRouter(prefix="/v1/trucks", tags=["modes"])
modes_router = APIRouter(prefix="/v1/modes", tags=["modes"])
router = APIRouter(lifespan=_lifespan)


# ---- helpers -----------------------------------------------------------------------------------


def _actor(who: Principal) -> ModeActor:
    if not is_carrier(who.organisation):
        raise ApiError(
            403,
            "forbidden",
            f"organisation: the token {who.name!r} acts for {who.organisation!r}; a truck's "
            "operating modes are the carrier's (use a token of the carrier)",
            field="organisation",
        )
    return ModeActor(who.name, "api", None, who.organisation)


def _store(api: Backends, conn: psycopg.Connection[Any]) -> ModeStore:
    from logistream.modes.store import ModeStore
    from logistream.registry import cached_registry

    return ModeStore(conn, cached_registry(api.settings.registry_dir))


def _refused(error: Refused) -> ApiError:
    return ApiError(
        _STATUS_CODES.get(error.reason, 422),
        _ERROR_CODES.get(error.reason, "invalid_mode"),
        str(error),
        field=error.field,
    )


def _not_found(error: NotFound) -> ApiError:
    return ApiError(404, f"{error.kind}_not_found", error.detail)


def _written(
    request: Request,
    conn: psycopg.Connection[Any],
    mode: StoredMode,
    status_code: int,
) -> Response:
    published = mode.version == 0 or mode.version == mode.published_version
    warning = None
    if mode.version > 0:
        box: ModeOutbox = request.app.state.mode_outbox
        warning = box.publish(conn, mode.mode_id)
        published = warning is None
    body = {**_mode_dict(mode), "published": published and mode.version > 0, "warning": warning}
    return json_response(body, 202 if warning else status_code)


def _change(request: Request, status_code: int, act: Callable[[ModeStore], StoredMode]) -> Response:
    api = backends(request)
    with _owner(api) as conn:
        try:
            mode = act(_store(api, conn))
        except NotFound as error:
            raise _not_found(error) from None
        except Refused as error:
            raise _refused(error) from None
        return _written(request, conn, mode, status_code)


def _written_responses(ok: int) -> dict[int | str, dict[str, Any]]:
    out = responses(
        400,
        401,
        403,
        404,
        409,
        422,
        429,
        503,
        ok={
            ok: {"model": ModeWritten, "description": "Stored (and published when in force)."},
            202: {"model": ModeWritten, "description": "Stored, not yet on Kafka (warning)."},
        },
    )
    for code in (403, 409, 422):
        out[code] = {**out[code], "model": ModeRefusal}
    return out


# ---- routes ------------------------------------------------------------------------------------


@trucks_router.post(
    "/{truck_id}/mode", response_model=ModeWritten, responses=_written_responses(201),
    status_code=201,
)  # fmt: skip
def set_mode(
    request: Request, truck_id: TruckIdPath, who: Writer, body: Annotated[ModeIn, Body()]
) -> Response:
    """Put a truck in an operating mode from now to ``ends_at`` (scope: shipments): its
    temperature alarms are held (recorded as suppressed) until then. On a truck with an active
    shipment it is stored ``pending_approval`` and takes effect only once a carrier admin
    approves it (``POST /v1/modes/{mode_id}/approve``). Refused: 422 (kind, reason, an end not
    after now or more than 7 days on), 403 (a shipper's token), 404 (unknown truck), 409 (the
    truck is already in a mode)."""
    actor = _actor(who)
    ends_at = datetime.fromtimestamp(body.ends_at, UTC)
    return _change(
        request, 201, lambda store: store.set(truck_id, body.kind, body.reason, ends_at, actor)
    )


@trucks_router.delete(
    "/{truck_id}/mode", response_model=ModeWritten, responses=_written_responses(200)
)
def end_mode(
    request: Request,
    truck_id: TruckIdPath,
    who: Writer,
    reason: Annotated[str, Query(min_length=1, max_length=MAX_REASON, description="Why.")],
) -> Response:
    """End a truck's mode now (scope: shipments): an active one ends (``ended_at`` on the
    topic); one waiting for approval is withdrawn. 409 when the truck is in no mode."""
    actor = _actor(who)
    return _change(request, 200, lambda store: store.end(truck_id, actor, reason))


@modes_router.post(
    "/{mode_id}/approve", response_model=ModeWritten, responses=_written_responses(200)
)
def approve_mode(request: Request, mode_id: ModeIdPath, who: Writer) -> Response:
    """Approve a mode waiting for a second person (scope: shipments; a carrier token whose name
    is not the one who set it): in force from now to its end time, then published."""
    actor = _actor(who)
    return _change(request, 200, lambda store: store.approve(mode_id, actor))


@modes_router.post(
    "/{mode_id}/refuse", response_model=ModeWritten, responses=_written_responses(200)
)
def refuse_mode(
    request: Request, mode_id: ModeIdPath, who: Writer, body: Annotated[ReasonIn, Body()]
) -> Response:
    """Refuse a mode waiting for approval (as approve); it is never published."""
    actor = _actor(who)
    return _change(request, 200, lambda store: store.refuse(mode_id, actor, body.reason))


@modes_router.get("", response_model=Modes, responses=responses(401, 403, 422, 429, 503))
def list_modes(
    request: Request,
    who: Reader,
    truck: Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)] = None,
    status: Status | None = None,
) -> Response:
    """Modes, the newest first (scope: read; the carrier's tokens): by default those waiting
    for approval or in force; ``status`` picks one status (``ended`` includes modes past their
    end time), ``truck`` one truck."""
    _actor(who)
    api = backends(request)
    with api.reader() as conn:
        found = _store(api, conn).list(truck=truck, status=status)
    return json_response({"items": [_mode_dict(mode) for mode in found]})


router.include_router(trucks_router)
router.include_router(modes_router)
