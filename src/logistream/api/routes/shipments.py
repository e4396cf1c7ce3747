"""Shipments: list, read, create, cancel and set the stage by hand (issue 17).

PostgreSQL is the source of truth: reads use the read-only pool, writes the owner's connection
(as issuing a trip report does), through ``ShipmentStore``, the same code as
``logistream shipments``. Each change is committed, then published on the ``shipments`` topic
(``shipment_outbox``); the ``live`` part of a record comes from the live views when the speed
layer tracks the shipment. ``by`` in the change log is the token's name. Reads need scope
``read``, writes scope ``shipments``. A refusal names the field and what to fix: 422 for a
document or change that cannot be accepted, 409 when it conflicts with what is stored (an id
already used, a truck already carrying an active shipment, a shipment no longer active). The
JSON of a record is built in :mod:`logistream.api.shipment_json`.

Tenancy (issue 18): every read goes through ``reads.tenancy.scoped`` with the token's
organisation (a token of none is the carrier's systems: it sees every shipment), so PostgreSQL's
row-level security decides what a shipper's or receiver's token sees; nothing is filtered here.
A shipment the token's organisation is not party to is answered 404, exactly as an unknown id:
a 403 would tell a shipper that another's shipment id exists (ids are often references that
leak who ships what). The owner-role paths (the report, cancel, stage, PoD) first ask the
scoped reader whether the shipment is visible, so they refuse the same way. A token of a
shipper or receiver creates shipments only as their shipper (403 otherwise).
``GET /v1/shipments/{id}/alerts`` gives a token what it may see of the alerts: its shipment's
truck's archived alert changes within the shipment's window (``reads.shipment_alerts``), read
through the scoped reader as the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from logistream.api.auth import require
from logistream.api.backends import Backends
from logistream.api.errors import ApiError, responses
from logistream.api.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    decode_cursor,
    encode_cursor,
    split_page,
)
from logistream.api.routes.common import ID_PATTERN, backends, json_response, plain
from logistream.api.schemas import AlertHistory, ReportFormat
from logistream.api.shipment_input import MAX_ID, NotJson, decode_json, read_shipment
from logistream.api.shipment_json import pod_dicts, record_dict, summary_dict
from logistream.api.shipment_outbox import ShipmentOutbox
from logistream.api.shipment_schemas import (
    CancelIn,
    PodIn,
    Shipment,
    ShipmentRefusal,
    Shipments,
    ShipmentStatus,
    ShipmentWritten,
    Stage,
    StageIn,
)
from logistream.api.tokens import Principal
from logistream.audit.trail import Actor
from logistream.errors import NotFound
from logistream.live_views import RedisLiveViews
from logistream.reads.tenancy import is_carrier, scoped, tenant_of
from logistream.shipments.errors import ShipmentError
from logistream.shipments.wire import StageOverride

if TYPE_CHECKING:
    import psycopg

    from logistream.registry import Registry
    from logistream.shipments.store import ShipmentStore

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])
Reader = Annotated[Principal, Depends(require("read"))]
Shipper = Annotated[Principal, Depends(require("shipments"))]
ShipmentIdPath = Annotated[
    str,
    Path(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="The shipment's id."),
]
Org = Annotated[str | None, Query(min_length=1, max_length=128, pattern=ID_PATTERN)]
_CURSOR: Final = "shipments"
_CONFLICTS: Final = {
    "shipment_id": "shipment_exists",
    "truck_id": "truck_has_active_shipment",
    "status": "shipment_not_active",
}
_REFUSED: Final[dict[int | str, dict[str, Any]]] = {
    409: {"model": ShipmentRefusal, "description": "Conflicts with what is stored (the field)."},
    422: {"model": ShipmentRefusal, "description": "Invalid; the field and what to fix."},
}
_SHIPMENT_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The shipment file's table as JSON (as `logistream shipments create`).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ShipmentDocument"}}
        },
    }
}


def _written_responses(created: int) -> dict[int | str, dict[str, Any]]:
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
            created: {"model": ShipmentWritten, "description": "Stored and published."},
            202: {
                "model": ShipmentWritten,
                "description": "Stored, not yet on Kafka (published=false, warning says why): "
                "sent when Kafka is back.",
            },
        },
    )
    out.update(_REFUSED)
    return out


# ---- connections -------------------------------------------------------------------------------


def _registry(api: Backends) -> Registry:
    from logistream.registry import cached_registry

    return cached_registry(api.settings.registry_dir)


@contextmanager
def owner(api: Backends) -> Iterator[psycopg.Connection[Any]]:
    """The owner's connection in autocommit: each store change is its own transaction, so it is
    committed before it is published."""
    with api.owner() as conn:
        conn.autocommit = True
        yield conn


def outbox(request: Request) -> ShipmentOutbox:
    found: ShipmentOutbox = request.app.state.shipment_outbox
    return found


def start_outbox(api: Backends) -> ShipmentOutbox:
    """The app's outbox; sends the changes an earlier process left unpublished (in a thread)."""
    found = ShipmentOutbox(api.settings, api.endpoints, _registry(api), api.options.kafka_timeout_s)
    found.heal_in_background(lambda: owner(api))
    return found


# ---- refusals ----------------------------------------------------------------------------------


def _actor(who: Principal) -> Actor:
    """The audit trail's actor of a change: the token's name and organisation, source api."""
    return Actor(who.name, "api", who.organisation)


def _refused(error: ShipmentError, conflict: bool = False) -> ApiError:
    code = _CONFLICTS.get(error.field, "invalid_shipment") if conflict else "invalid_shipment"
    return ApiError(409 if conflict else 422, code, str(error), field=error.field)


def _visible(api: Backends, who: Principal, shipment_id: str) -> None:
    """Raise the 404 of an unknown shipment unless the token's organisation sees it (asked of
    the reader role under row-level security, before any owner-role work)."""
    if not is_carrier(who.organisation):  # the carrier sees all: an unknown one is the store's
        _shipper_seen(api, who, shipment_id)


def _changeable(api: Backends, who: Principal, shipment_id: str) -> None:
    """As :func:`_visible`, and refuse (403 ``not_shipper``) an organisation that sees the
    shipment but may not cancel it or set its stage (its receiver: ``shipments.parties``)."""
    from logistream.shipments.parties import change_refusal

    if is_carrier(who.organisation):
        return
    shipper_id = _shipper_seen(api, who, shipment_id)
    refusal = change_refusal(who.organisation, shipper_id, shipment_id)
    if refusal is not None:
        raise ApiError(403, "not_shipper", f"The token {who.name!r}: {refusal}.", field="shipper")


def _shipper_seen(api: Backends, who: Principal, shipment_id: str) -> str:
    """The shipment's shipper as the token's organisation reads it; 404 when it sees none."""
    with api.reader() as conn, scoped(conn, tenant_of(who.organisation)):
        row = conn.execute(
            "SELECT shipper_id FROM shipments WHERE shipment_id = %s", [shipment_id]
        ).fetchone()
    if row is None:
        raise _not_found(shipment_id)
    return str(row[0])


def _not_found(shipment_id: str) -> ApiError:
    return ApiError(
        404,
        "shipment_not_found",
        f"No shipment {shipment_id!r}; GET /v1/shipments lists them.",
    )


# ---- reads -------------------------------------------------------------------------------------


@router.get("", response_model=Shipments, responses=responses(401, 403, 422, 429, 503))
def list_shipments(
    request: Request,
    who: Reader,
    status: ShipmentStatus | None = None,
    shipper: Org = None,
    receiver: Org = None,
    truck: Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)] = None,
    stage: Annotated[
        Stage | None,
        Query(description="The live stage (only shipments the speed layer tracks match)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Shipments, the newest created first, paged (scope: read; PostgreSQL, with each one's
    live state from the speed layer). ``shipper`` and ``receiver`` are organisation ids."""
    from logistream.reads.shipment_pages import ShipmentFilter, shipments_page

    after: tuple[datetime, str] | None = None
    if cursor is not None:
        try:
            created_at, shipment_id = decode_cursor(_CURSOR, cursor, (datetime, str))
            after = (created_at, shipment_id)
        except BadCursor as error:
            raise ApiError(422, "invalid_cursor", str(error)) from None
    api = backends(request)
    tracked = {s.shipment_id: s for s in RedisLiveViews(api.redis).shipments()}
    ids = None
    if stage is not None:
        ids = tuple(sorted(i for i, s in tracked.items() if s.stage == stage))
    wanted = ShipmentFilter(status, shipper, receiver, truck, ids)
    with api.reader() as conn, scoped(conn, tenant_of(who.organisation)):
        rows = shipments_page(conn, _registry(api), wanted, after, limit)
    page, more = split_page(rows, limit)
    next_cursor = None
    if more and page:
        created_at, last = page[-1]
        next_cursor = encode_cursor(_CURSOR, created_at, last.shipment.shipment_id)
    found = [summary_dict(r, at, tracked.get(r.shipment.shipment_id)) for at, r in page]
    return json_response({"shipments": found, "next_cursor": next_cursor})


@router.get(
    "/{shipment_id}", response_model=Shipment, responses=responses(401, 403, 404, 422, 429, 503)
)
def shipment(request: Request, shipment_id: ShipmentIdPath, who: Reader) -> Response:
    """One shipment: its document, status, version, latest stage override, change log, proofs
    of delivery (each with the lot's temperature summary up to the signature), and its live
    state (stage, ETA per stop left) while the speed layer tracks it (scope: read)."""
    from logistream.shipments.store import ShipmentStore

    api = backends(request)
    with api.reader() as conn, scoped(conn, tenant_of(who.organisation)):
        store = ShipmentStore(conn, _registry(api))
        record = store.get(shipment_id)
        if record is None:
            raise _not_found(shipment_id)
        changes = store.changes(shipment_id)
        pods = pod_dicts(store, record)
    live = RedisLiveViews(api.redis).shipment(shipment_id)
    return json_response(record_dict(record, changes, live, pods))


_ALERTS_CURSOR: Final = "shipment-alerts"


@router.get(
    "/{shipment_id}/alerts",
    response_model=AlertHistory,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def shipment_alerts(
    request: Request,
    shipment_id: ShipmentIdPath,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The archived alert changes (opened, acknowledged, resolved) of the shipment's truck while
    it carried the shipment: from its creation to its cancellation or delivery (open while it is
    active), newest first, paged as ``GET /v1/alerts`` (scope: read; a shipper's or receiver's
    token reads those of its own shipments; 404 for another's, as for an unknown id)."""
    from logistream.reads.shipment_alerts import shipment_alerts_page

    after: tuple[datetime, str, str] | None = None
    if cursor is not None:
        try:
            changed_at, alert_id, state = decode_cursor(
                _ALERTS_CURSOR, cursor, (datetime, str, str)
            )
            after = (changed_at, alert_id, state)
        except BadCursor as error:
            raise ApiError(422, "invalid_cursor", str(error)) from None
    api = backends(request)
    with api.reader() as conn, scoped(conn, tenant_of(who.organisation)):
        rows = shipment_alerts_page(conn, shipment_id, after, limit)
    if rows is None:
        raise _not_found(shipment_id)
    page, more = split_page(rows, limit)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(
            _ALERTS_CURSOR, last["changed_at"], last["alert_id"], last["state"]
        )
    changes = [{k: v for k, v in plain(r).items() if v is not None} for r in page]
    return json_response({"changes": changes, "next_cursor": next_cursor})


# ---- writes ------------------------------------------------------------------------------------


def _answer(api: Backends, box: ShipmentOutbox, shipment_id: str, created: int) -> Response:
    """Publish the committed change, then answer with the record (202 when not published)."""
    from redis.exceptions import RedisError

    from logistream.shipments.store import ShipmentStore

    with owner(api) as conn:
        warning = box.publish(conn, shipment_id)
        store = ShipmentStore(conn, _registry(api))
        record = store.get(shipment_id)
        changes = store.changes(shipment_id)
        assert record is not None  # just stored; shipments are never deleted
        pods = pod_dicts(store, record)
    try:
        live = RedisLiveViews(api.redis).shipment(shipment_id)
    except RedisError:  # the change is stored: a live-view outage must not hide that
        live = None
    body = {
        **record_dict(record, changes, live, pods),
        "published": warning is None,
        "warning": warning,
    }
    return json_response(body, status_code=created if warning is None else 202)


@router.post(
    "", response_model=ShipmentWritten, status_code=201, openapi_extra=_SHIPMENT_BODY,
    responses=_written_responses(201),
)  # fmt: skip
async def create_shipment(request: Request, who: Shipper) -> Response:
    """Create a shipment from its document, the shipment file as JSON (scope: shipments), as
    ``logistream shipments create`` does: validated against the registry, stored in one
    transaction (nothing half-stored), then published on the ``shipments`` topic. 201 with the
    record; 202 when Kafka did not acknowledge (stored; sent later). Refused with the field and
    what to fix: 422 for an invalid document (unknown cargo profile, a stop without a geofence,
    ...), 409 for an id already used or a truck already carrying an active shipment."""
    api = backends(request)
    body = await request.body()
    try:
        data = decode_json(body)
    except NotJson as error:
        raise ApiError(400, "invalid_body", f"{error}; send the shipment file as JSON") from None
    try:
        parsed = read_shipment(data, _registry(api))
    except ShipmentError as error:
        raise _refused(error) from None
    if not is_carrier(who.organisation) and parsed.shipper.org_id != who.organisation:
        raise ApiError(
            403,
            "not_shipper",
            f"The token {who.name!r} acts for organisation {who.organisation!r}: it creates "
            f"shipments whose shipper.id is {who.organisation!r}, not {parsed.shipper.org_id!r}.",
            field="shipper",
        )
    return await run_in_threadpool(_create, api, outbox(request), parsed, who)


def _create(api: Backends, box: ShipmentOutbox, parsed: Any, who: Principal) -> Response:
    from logistream.shipments.store import ShipmentStore, new_record

    with owner(api) as conn:
        try:
            ShipmentStore(conn, _registry(api)).create(
                new_record(parsed), who.name, actor=_actor(who)
            )
        except ShipmentError as error:
            raise _refused(error, conflict=error.field in ("shipment_id", "truck_id")) from None
    return _answer(api, box, parsed.shipment_id, 201)


@router.post(
    "/{shipment_id}/cancel", response_model=ShipmentWritten, responses=_written_responses(200)
)
def cancel_shipment(
    request: Request, shipment_id: ShipmentIdPath, who: Shipper, body: Annotated[CancelIn, Body()]
) -> Response:
    """Cancel an active shipment (scope: shipments); its truck is free for another. Logged with
    the token's name and the reason, then published. 409 when it is no longer active; 403
    ``not_shipper`` for its receiver's token (its shipper or the carrier cancels it)."""
    from logistream.shipments.store import ShipmentStore

    api = backends(request)
    _changeable(api, who, shipment_id)
    with owner(api) as conn:
        try:
            ShipmentStore(conn, _registry(api)).cancel(
                shipment_id, who.name, body.reason, actor=_actor(who)
            )
        except NotFound:
            raise _not_found(shipment_id) from None
        except ShipmentError as error:
            raise _refused(error, conflict=error.field == "status") from None
    return _answer(api, outbox(request), shipment_id, 200)


@router.post(
    "/{shipment_id}/stage", response_model=ShipmentWritten, responses=_written_responses(200)
)
def override_stage(
    request: Request, shipment_id: ShipmentIdPath, who: Shipper, body: Annotated[StageIn, Body()]
) -> Response:
    """A dispatcher sets the stage by hand (scope: shipments), as ``logistream shipments
    override``: logged with the token's name and the reason, published, and the speed layer
    takes it from the topic. ``stop`` may be left out when the stage fits one stop only. 422
    when the stop does not fit the stage; 409 when the shipment is no longer active; 403
    ``not_shipper`` for its receiver's token."""
    from logistream.shipments.store import ShipmentStore
    from logistream.shipments.wire import stop_index_for, stop_indexes

    api = backends(request)
    _changeable(api, who, shipment_id)
    with owner(api) as conn:
        store = ShipmentStore(conn, _registry(api))
        record = store.get(shipment_id)
        if record is None:
            raise _not_found(shipment_id)
        index = body.stop if body.stop is not None else stop_index_for(record.shipment, body.stage)
        if index is None:
            fits = stop_indexes(record.shipment, body.stage)
            raise _refused(
                ShipmentError(
                    "stop", f"stage {body.stage} fits stops {fits[0]} to {fits[-1]}; say which"
                )
                if fits
                else ShipmentError("stage", f"{body.stage!r}: the shipment has no drops")
            )
        change = StageOverride(body.stage, index, who.name, datetime.now(UTC), body.reason)
        try:
            store.override_stage(shipment_id, change, actor=_actor(who))
        except NotFound:
            raise _not_found(shipment_id) from None
        except ShipmentError as error:
            if error.field == "stop_index":  # the wire's name; this API's field is ``stop``
                error = ShipmentError("stop", error.fix)
            raise _refused(error, conflict=error.field == "status") from None
    return _answer(api, outbox(request), shipment_id, 200)


@router.post(
    "/{shipment_id}/pod", response_model=ShipmentWritten, responses=_written_responses(200)
)
def record_pod(
    request: Request, shipment_id: ShipmentIdPath, who: Shipper, body: Annotated[PodIn, Body()]
) -> Response:
    """The receiver accepts or rejects one lot at the stop where it is handed over (scope:
    shipments), as ``logistream shipments pod``: only a token of the shipment's receiving
    organisation (``logistream api token create NAME --scope shipments --organisation ORG``)
    signs, recorded with the token's name, the lot's temperature summary up to now and the
    note; the shipment is delivered when every lot is signed for. Then published. 403 for a
    token of another organisation (or of none); 422 for an unknown stop or lot, or a lot handed
    over at another stop; 409 when the lot is already signed for or the shipment is no longer
    active."""
    from logistream.shipments.pod import PodRequest, Signatory
    from logistream.shipments.store import ShipmentStore

    api = backends(request)
    pod = PodRequest(body.stop, body.lot, body.decision, body.name, datetime.now(UTC), body.note)
    _visible(api, who, shipment_id)
    with owner(api) as conn:
        store = ShipmentStore(conn, _registry(api))
        try:
            store.record_pod(
                shipment_id, pod, Signatory(who.name, who.organisation), actor=_actor(who)
            )
        except NotFound:
            raise _not_found(shipment_id) from None
        except ShipmentError as error:
            raise _pod_refused(store, shipment_id, body.lot, error) from None
    return _answer(api, outbox(request), shipment_id, 200)


def _pod_refused(
    store: ShipmentStore, shipment_id: str, lot: str, error: ShipmentError
) -> ApiError:
    """403 for a signer outside the receiver, 409 for what is stored (the shipment no longer
    active, the lot already signed for), else 422; the CLI's one line in every case."""
    if error.field == "organisation":
        return ApiError(403, "not_receiver", str(error), field=error.field)
    if error.field == "lot":
        record = store.get(shipment_id)
        if record is not None and any(p.lot == lot for p in record.pods):
            return ApiError(409, "lot_already_signed", str(error), field=error.field)
    return _refused(error, conflict=error.field == "status")


# ---- report ------------------------------------------------------------------------------------


_MEDIA = {"pdf": "application/pdf", "csv": "text/csv", "json": "application/json"}


@router.get(
    "/{shipment_id}/report",
    response_class=Response,
    responses=responses(
        401,
        403,
        404,
        422,
        429,
        503,
        ok={
            200: {
                "description": "The shipment report: the same bytes as `logistream report "
                "shipment ID --format F` would give now.",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}},
                },
            },
        },
    ),
)
def shipment_report(
    request: Request,
    shipment_id: ShipmentIdPath,
    who: Reader,
    format: ReportFormat = "pdf",
) -> Response:
    """The shipment report as PDF, CSV or JSON (scope: read), made by the same code as
    ``logistream report shipment``: if what it shows is unchanged since the last issued version
    (archived readings, stages, PoDs, releases), that version as stored; otherwise a new version
    is issued (with the owner role: issued reports are append-only). ``X-Report-Version`` says
    which. 404 for an unknown shipment."""
    from logistream.batch.reports.current import current_shipment_report
    from logistream.batch.reports.render import render
    from logistream.errors import NotFound

    api = backends(request)
    _visible(api, who, shipment_id)
    try:
        content = current_shipment_report(api.owner, _registry(api), shipment_id)
    except NotFound:
        raise _not_found(shipment_id) from None
    version = content.get("version")
    filename = f"shipment-{shipment_id}-v{version}.{format}"
    return Response(
        render(content, format),
        media_type=_MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="{_ascii(filename)}"',
            "X-Report-Version": str(version),
        },
    )


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\/' else "_" for c in name)
