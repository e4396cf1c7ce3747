"""Trips from the batch views (verdict, MKT), a trip's archived readings (paged), and the trip
report (the same code as ``logistream report trip``). Read-only role, except issuing a report.

Tenancy (issue 18): every read goes through ``reads.tenancy.scoped`` for the token's
organisation. A shipper's or receiver's token sees a trip only when the whole trip lies within
one window of its shipments on that truck (row-level security on ``trips`` and its views,
migration 0055): a trip's figures and its report are the carrier's whole trip, which may have
carried other customers' cargo before or after. Any other trip answers 404 as an unknown one,
on the trip, its readings and its report alike (its readings are not listed piecemeal). The
report of a visible trip is the carrier's report of it, the same bytes for everyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from logistream.api.auth import require
from logistream.api.errors import ApiError, responses
from logistream.api.filters import TripFilter, trips_where
from logistream.api.paging import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    decode_cursor,
    encode_cursor,
    split_page,
)
from logistream.api.routes.common import (
    ID_PATTERN,
    TripIdPath,
    TruckIdPath,
    backends,
    json_response,
    plain,
)
from logistream.api.schemas import ReportFormat, TripDetail, TripReadings, Trips
from logistream.api.tokens import Principal
from logistream.errors import TripNotFound
from logistream.reads import pages, views
from logistream.reads.tenancy import is_carrier, scoped, tenant_of

if TYPE_CHECKING:
    import psycopg

router = APIRouter(prefix="/v1/trips", tags=["trips"])
Reader = Annotated[Principal, Depends(require("read"))]
_TRIPS_CURSOR: Final = "trips"
_READINGS_CURSOR: Final = "readings"
_MEDIA: Final = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def _cursor(kind: str, cursor: str | None) -> tuple[datetime, str, str] | None:
    if cursor is None:
        return None
    try:
        first, second, third = decode_cursor(kind, cursor, (datetime, str, str))
        return first, second, third
    except BadCursor as error:
        raise ApiError(422, "invalid_cursor", str(error)) from None


def _missing_views(error: Exception) -> ApiError:
    return ApiError(
        503,
        "batch_views_missing",
        f"The batch views are not in the archive yet ({error.__class__.__name__}); run "
        "`logistream migrate` and `logistream batch`.",
        service="postgres",
    )


@router.get("", response_model=Trips, responses=responses(401, 403, 422, 429, 503))
def trips(
    request: Request,
    who: Reader,
    truck: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    verdict: Literal["pass", "review", "fail"] | None = None,
    since: Annotated[
        float | None, Query(ge=0, le=1e11, allow_inf_nan=False, description="Started at or after.")
    ] = None,
    until: Annotated[
        float | None, Query(ge=0, le=1e11, allow_inf_nan=False, description="Started before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """Trips with their compliance verdict and MKT, newest start first (scope: read; batch
    views, as of the last ``logistream batch``)."""
    import psycopg

    wanted = TripFilter(truck, verdict, since, until)
    where, params = trips_where(wanted, _cursor(_TRIPS_CURSOR, cursor))
    try:
        with backends(request).reader() as conn, scoped(conn, tenant_of(who.organisation)):
            rows = pages.trips_page(conn, where, params, limit)
    except psycopg.errors.UndefinedTable as error:
        raise _missing_views(error) from None
    page, more = split_page(rows, limit)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(
            _TRIPS_CURSOR, last["start_time"], last["truck_id"], last["trip_id"]
        )
    return json_response({"trips": [plain(r) for r in page], "next_cursor": next_cursor})


def _trip_not_found(truck_id: str, trip_id: str) -> ApiError:
    return ApiError(
        404,
        "trip_not_found",
        f"No trip {trip_id!r} of truck {truck_id!r} in the batch views; check the ids "
        "(GET /v1/trips) or run `logistream batch --changed` for recent readings.",
    )


@router.get(
    "/{truck_id}/{trip_id}",
    response_model=TripDetail,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def trip(request: Request, truck_id: TruckIdPath, trip_id: TripIdPath, who: Reader) -> Response:
    """One trip: summary, compliance (verdict, MKT, time out of range), excursions and data
    gaps (scope: read)."""
    import psycopg

    try:
        with backends(request).reader() as conn, scoped(conn, tenant_of(who.organisation)):
            summary = pages.trip_summary(conn, truck_id, trip_id)
            if summary is None:
                raise _trip_not_found(truck_id, trip_id)
            compliance = views.trip_compliance(conn, truck_id, trip_id)
            excursions = views.trip_excursions(conn, truck_id, trip_id)
            gaps = views.trip_gaps(conn, truck_id, trip_id)
    except psycopg.errors.UndefinedTable as error:
        raise _missing_views(error) from None
    return json_response(
        {
            "trip": plain(summary),
            "compliance": plain(compliance) if compliance else None,
            "excursions": plain(excursions),
            "gaps": plain(gaps),
        }
    )


@router.get(
    "/{truck_id}/{trip_id}/readings",
    response_model=TripReadings,
    responses=responses(401, 403, 404, 422, 429, 503),
)
def trip_readings(
    request: Request,
    truck_id: TruckIdPath,
    trip_id: TripIdPath,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The trip's archived readings in event-time order, paged (scope: read; the raw archive,
    so readings archived after the last batch run are included). A trip without a ``trip_id``
    is ``<truck>@<YYYY-MM-DD>`` (UTC day)."""
    after = _cursor(_READINGS_CURSOR, cursor)
    with backends(request).reader() as conn, scoped(conn, tenant_of(who.organisation)):
        if not is_carrier(who.organisation) and not _tenant_sees_trip(conn, truck_id, trip_id):
            raise _trip_not_found(truck_id, trip_id)
        rows = pages.trip_readings_page(
            conn, truck_id, trip_id, (after[0], after[1]) if after else None, limit
        )
    page, more = split_page(rows, limit)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(_READINGS_CURSOR, last["event_time"], last["event_id"], "")
    readings = []
    for row in page:
        row["timestamp"] = row.pop("event_time")
        readings.append({k: v for k, v in plain(row).items() if v is not None})
    return json_response({"readings": readings, "next_cursor": next_cursor})


@router.get(
    "/{truck_id}/{trip_id}/report",
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
                "description": "The report: the same bytes as `logistream report trip`.",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}},
                },
            }
        },
    ),
)
def trip_report(
    request: Request,
    truck_id: TruckIdPath,
    trip_id: TripIdPath,
    who: Reader,
    format: ReportFormat = "pdf",
) -> Response:
    """The trip temperature report as PDF, CSV or JSON (scope: read), made by the same code as
    ``logistream report trip``: if the archived readings are unchanged since the last issued
    version, that version is returned as stored; otherwise a new version is issued (the one
    write this API makes, with the owner role, since issued reports are append-only)."""
    from logistream.batch.reports.current import current_trip_report
    from logistream.batch.reports.render import render
    from logistream.registry import cached_registry

    api = backends(request)
    if not is_carrier(who.organisation):
        with api.reader() as conn, scoped(conn, tenant_of(who.organisation)):
            if not _tenant_sees_trip(conn, truck_id, trip_id):
                raise _trip_not_found(truck_id, trip_id)
    try:
        with api.reader() as conn:
            content = current_trip_report(
                conn, api.owner, cached_registry(api.settings.registry_dir), truck_id, trip_id
            )
    except TripNotFound:
        raise _trip_not_found(truck_id, trip_id) from None
    data = render(content, format)
    filename = f"trip-{truck_id}-{trip_id}-v{content.get('version')}.{format}".replace(" ", "_")
    return Response(
        data,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{_ascii(filename)}"'},
    )


def _tenant_sees_trip(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> bool:
    """Whether the trip is in the batch views as the scoped transaction on ``conn`` sees them
    (for a tenant: the whole trip within one of its shipments' windows)."""
    return pages.trip_summary(conn, truck_id, trip_id) is not None


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\/' else "_" for c in name)
