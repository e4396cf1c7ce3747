"""The trip report (and the shipment report) a person or another system downloads, the same
whoever asks.

The dashboard, the API and ``logistream report trip`` all hand out the report made by
:func:`logistream.batch.reports.trip.issue`; a shipment's comes from
:func:`logistream.batch.reports.shipment.issue` (:func:`current_shipment_report`). Reading a
trip's latest issued version needs only the read-only role; only when the trip's archived
readings changed since (a late reading) is a new version issued, with the owner role, because
issued versions are append-only. A shipment's report is built each time (its lots are judged up
to now while on the truck) and issued anew only when what it shows changed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from logistream.batch.reports.changes import changes_section, with_changes
from logistream.batch.reports.digest import trip_digest
from logistream.batch.reports.modes import modes_section, with_modes
from logistream.batch.reports.trip import Content, issue
from logistream.errors import TripNotFound
from logistream.reads.views import report_versions
from logistream.registry import Registry
from logistream.schema.trip_key import TRIP_EXPR

OwnerConnection = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


def _stored_if_unchanged(
    reader: psycopg.Connection[Any], truck_id: str, trip_id: str
) -> Content | None:
    with reader.transaction():
        archived = reader.execute(
            f"SELECT EXISTS (SELECT FROM readings r WHERE r.truck_id = %s AND {TRIP_EXPR} = %s)",
            [truck_id, trip_id],
        ).fetchone()
        if not archived or not archived[0]:
            raise TripNotFound(
                trip_id,
                f"no trip {trip_id!r} of truck {truck_id!r} in the archive",
                truck_id=truck_id,
            )
        versions = report_versions(reader, truck_id, trip_id)
        if not versions:
            return None
        # A server-side cursor inside this transaction streams a trip of any length.
        readings_digest, _count = trip_digest(reader, truck_id, trip_id)
        # The operating modes and the changes on the record over the trip's readings (the trip
        # view's span), as issue sees them.
        span = reader.execute(
            "SELECT min(r.event_time), max(r.event_time) FROM readings r "
            f"WHERE r.truck_id = %s AND {TRIP_EXPR} = %s",
            [truck_id, trip_id],
        ).fetchone()
        assert span is not None
        modes = modes_section(reader, truck_id, span[0], span[1])
        digest, digest_format = with_modes(readings_digest, modes)
        changes = changes_section(reader, truck_id, span[0], span[1])
        digest, _format = with_changes(digest, digest_format, changes)
        if digest != versions[-1]["digest"]:
            return None
        row = reader.execute(
            "SELECT content FROM report_versions "
            "WHERE truck_id = %s AND trip_id = %s AND version = %s",
            [truck_id, trip_id, versions[-1]["version"]],
        ).fetchone()
        stored: Content | None = row[0] if row else None
        return stored


def current_trip_report(
    reader: psycopg.Connection[Any],
    owner: OwnerConnection,
    registry: Registry,
    truck_id: str,
    trip_id: str,
) -> Content:
    """The latest issued version if the archive is unchanged, else a newly issued one.

    Raises :class:`TripNotFound` when the archive has no such trip.
    """
    stored = _stored_if_unchanged(reader, truck_id, trip_id)
    if stored is not None:
        return stored
    with owner() as conn:
        return issue(conn, registry, trip_id, truck_id)


def current_shipment_report(
    owner: OwnerConnection, registry: Registry, shipment_id: str
) -> Content:
    """The shipment report as of now: the latest issued version if what it shows is unchanged,
    else a newly issued one (owner role: versions are append-only). Raises ``NotFound`` for an
    unknown shipment."""
    from logistream.batch.reports.shipment import issue_for

    with owner() as conn:
        return issue_for(conn, registry, shipment_id)
