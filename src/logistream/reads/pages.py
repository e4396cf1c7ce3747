"""The API's keyset-paged reads: trips with their verdict, one trip's summary, a trip's archived
readings and the alert history, as plain dicts.

Each page asks for one row more than ``limit`` so the caller knows whether another page follows.
The filters that become ``where`` (with its parameters) are the API's, built and unit-tested in
``logistream.api.filters``; the columns and the order, which a cursor depends on, live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg

Record = dict[str, Any]

TRIP_COLUMNS: Final = (
    "t.truck_id, t.trip_id, t.trip_id_sent, t.driver_id, t.cargo, t.route, t.start_time, "
    "t.end_time, t.duration_s, t.distance_km, t.readings, t.gap_s, c.verdict, c.reason, c.mkt_c, "
    "c.min_c, c.max_c, c.mean_c, c.tor_s, c.tor_budget_s, c.excursions, c.hard_limit_passed"
)
READING_COLUMNS: Final = (
    "r.event_id, r.truck_id, r.event_time, r.temp, r.fuel, r.seq, r.trip_id, r.driver_id, "
    "r.cargo, r.lat, r.lon, r.speed_kmh, r.heading_deg, r.humidity, r.door_open, r.reefer_on, "
    "r.defrost, r.probe_id, r.extras"
)
HISTORY_COLUMNS: Final = (
    "alert_id, state, changed_at, truck_id, trip_id, cargo, rule, severity, opened_at, value, "
    "threshold, lat, lon, message, acknowledged_by, ack_note, resolved_at, probe_id"
)


def _rows(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> list[Record]:
    cur = conn.execute(query.encode(), params)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def trips_page(
    conn: psycopg.Connection[Any], where: str, params: list[Any], limit: int
) -> list[Record]:
    """Trips (``trips t`` with ``trip_compliance c``) matching ``where``, newest start first."""
    return _rows(
        conn,
        f"SELECT {TRIP_COLUMNS} FROM trips t LEFT JOIN trip_compliance c "
        f"USING (truck_id, trip_id) WHERE {where} "
        "ORDER BY t.start_time DESC, t.truck_id DESC, t.trip_id DESC LIMIT %s",
        [*params, limit + 1],
    )


def trip_summary(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> Record | None:
    """The trip's row with its compliance columns; None when the batch views lack it."""
    rows = _rows(
        conn,
        f"SELECT {TRIP_COLUMNS} FROM trips t LEFT JOIN trip_compliance c "
        "USING (truck_id, trip_id) WHERE t.truck_id = %s AND t.trip_id = %s",
        [truck_id, trip_id],
    )
    return rows[0] if rows else None


def trip_readings_page(
    conn: psycopg.Connection[Any],
    truck_id: str,
    trip_id: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Record]:
    """The trip's archived readings in event-time order, after the keyset ``(event_time,
    event_id)`` when given."""
    keyset = "AND (r.event_time, r.event_id) > (%s, %s)" if after else ""
    return _rows(
        conn,
        f"SELECT {READING_COLUMNS} FROM readings r WHERE r.truck_id = %s "
        f"AND {TRIP_EXPR} = %s {keyset} ORDER BY r.event_time, r.event_id LIMIT %s",
        [truck_id, trip_id, *(after or ()), limit + 1],
    )


def alert_history_page(
    conn: psycopg.Connection[Any], where: str, params: list[Any], limit: int
) -> list[Record]:
    """Archived alert state changes matching ``where``, newest first."""
    return _rows(
        conn,
        f"SELECT {HISTORY_COLUMNS} FROM alert_changes WHERE {where} "
        "ORDER BY changed_at DESC, alert_id DESC, state DESC LIMIT %s",
        [*params, limit + 1],
    )
