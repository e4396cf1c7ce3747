"""SHA-256 over a trip's archived readings, in a canonical form anyone can recompute.

Format ``logistream-readings-v1``: the trip's rows of ``readings`` (same truck, same trip key:
``trip_id``, or ``<truck>@<YYYY-MM-DD>`` for readings without one), ordered by event time then
event id; one line per reading, UTF-8, fields separated by one TAB, each line ending in LF:

    event_id, event_time as whole microseconds since 1970-01-01 UTC, truck_id, trip_id,
    temp, fuel, lat, lon, speed_kmh, door_open, reefer_on, defrost

Numbers are written as the shortest decimal that reads back as the same IEEE-754 double
(Python ``repr``; e.g. ``5.0``, ``-1.2864``); booleans as ``true``/``false``; a NULL as an empty
field. The digest is the lowercase hex SHA-256 of the concatenated lines. A late reading that
joins the trip changes it; a later copy of the archive (a backup, a replica) gives the same
digest if and only if it holds the same readings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg

DIGEST_FORMAT: Final = "logistream-readings-v1"

CANONICAL_QUERY: Final = f"""
SELECT r.event_id, (extract(epoch FROM r.event_time) * 1000000)::bigint, r.truck_id, r.trip_id,
       r.temp, r.fuel, r.lat, r.lon, r.speed_kmh, r.door_open, r.reefer_on, r.defrost
FROM readings r
WHERE r.truck_id = %s AND {TRIP_EXPR} = %s
ORDER BY r.event_time, r.event_id
"""


def _field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical_line(row: Iterable[Any]) -> bytes:
    return ("\t".join(_field(v) for v in row) + "\n").encode("utf-8")


def digest_rows(rows: Iterable[Iterable[Any]]) -> tuple[str, int]:
    """The hex digest and the number of readings, from rows in the canonical column order."""
    h = hashlib.sha256()
    count = 0
    for row in rows:
        h.update(canonical_line(row))
        count += 1
    return h.hexdigest(), count


def trip_digest(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> tuple[str, int]:
    """Digest of the trip's readings as archived now (streamed, any trip length)."""
    with conn.cursor(name="logistream_digest") as cur:
        cur.execute(CANONICAL_QUERY.encode(), [truck_id, trip_id])
        return digest_rows(cur)
