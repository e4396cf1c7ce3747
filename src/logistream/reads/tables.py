"""The dashboard's history pages' reads, as column tables ready for a data frame.

Batch views (trips, compliance, fuel, drivers, reconciliation) are read by table name and
shown column by column, so the pages keep working while the batch layer adds columns; a view
that does not exist yet is reported by name instead of failing the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from logistream.reads.views import OPEN_DURING

if TYPE_CHECKING:
    import psycopg

# The batch layer's tables and views (migration 0010) that the history pages read.
AUDIT_VIEWS: Final = ("trips", "trip_compliance", "excursions", "reconciliation")
ANALYTICS_VIEWS: Final = ("fuel_efficiency", "fuel_by_truck", "driver_scorecard", "fuel_events")
ROW_LIMIT: Final = 2000


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of a query with their column names, ready for a data frame."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def _table(cursor: Any) -> Table:
    columns = tuple(d.name for d in cursor.description or ())
    return Table(columns, tuple(tuple(r) for r in cursor.fetchall()))


def present(conn: psycopg.Connection[tuple[Any, ...]], names: Iterable[str]) -> set[str]:
    """Which of these tables or views exist in the public schema."""
    wanted = list(names)
    rows = conn.execute(
        "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass('public.' || n) IS NOT NULL",
        [wanted],
    ).fetchall()
    return {str(r[0]) for r in rows}


def truck_history(
    conn: psycopg.Connection[tuple[Any, ...]], truck_id: str, since_s: float, limit: int = 5000
) -> Table:
    """A truck's archived readings since ``since_s`` (epoch), oldest first, at most ``limit``."""
    cursor = conn.execute(
        "SELECT * FROM (SELECT extract(epoch FROM event_time)::float8 AS t, temp, fuel, "
        "speed_kmh, lat, lon, trip_id, cargo, probe_id FROM readings WHERE truck_id = %s "
        "AND event_time >= to_timestamp(%s) ORDER BY event_time DESC LIMIT %s) r ORDER BY t",
        [truck_id, since_s, limit],
    )
    return _table(cursor)


def truck_excursions(
    conn: psycopg.Connection[tuple[Any, ...]], truck_id: str, since_s: float
) -> Table:
    """The audit's excursions (batch view ``excursions``) of a truck that end after ``since_s``,
    each with its probe (``None``: the truck's single probe)."""
    cursor = conn.execute(
        "SELECT extract(epoch FROM start_time)::float8 AS start, "
        "extract(epoch FROM end_time)::float8 AS end, kind, trip_id, ongoing, "
        "round((out_s / 60)::numeric, 1)::float8 AS minutes_out, peak_c, "
        "extract(epoch FROM alarm_at)::float8 AS alarm_at, nullif(probe_id, '') AS probe "
        "FROM excursions WHERE truck_id = %s AND end_time >= to_timestamp(%s) "
        "ORDER BY start_time, probe_id",
        [truck_id, since_s],
    )
    return _table(cursor)


def audit_trips(conn: psycopg.Connection[tuple[Any, ...]], limit: int = ROW_LIMIT) -> Table:
    """Trips of the batch views with their compliance verdict: failing ones first, then those
    to review, then the rest (what needs a decision on top), newest first within each."""
    cursor = conn.execute(
        "SELECT t.trip_id, t.truck_id, t.cargo, t.route, t.driver_id, c.verdict, c.reason, "
        "round(c.mkt_c::numeric, 2)::float8 AS mkt_c, round((c.tor_s / 60)::numeric, 1)::float8 "
        "AS tor_min, c.excursions, c.min_c, c.max_c, t.readings, "
        "extract(epoch FROM t.start_time)::float8 AS started, "
        "extract(epoch FROM t.end_time)::float8 AS ended "
        "FROM trips t LEFT JOIN trip_compliance c USING (truck_id, trip_id) "
        "ORDER BY CASE c.verdict WHEN 'fail' THEN 0 WHEN 'review' THEN 1 ELSE 2 END, "
        "t.start_time DESC LIMIT %s",
        [limit],
    )
    return _table(cursor)


def trip_excursions(
    conn: psycopg.Connection[tuple[Any, ...]], truck_id: str, trip_id: str
) -> Table:
    cursor = conn.execute(
        "SELECT kind, extract(epoch FROM start_time)::float8 AS start, "
        "extract(epoch FROM end_time)::float8 AS end, ongoing, round((duration_s / 60)::numeric, "
        "1)::float8 AS minutes, peak_c, extract(epoch FROM alarm_at)::float8 AS alarm_at, "
        "nullif(probe_id, '') AS probe "
        "FROM excursions WHERE truck_id = %s AND trip_id = %s ORDER BY start_time, probe_id",
        [truck_id, trip_id],
    )
    return _table(cursor)


def trip_probes(conn: psycopg.Connection[tuple[Any, ...]], truck_id: str, trip_id: str) -> Table:
    """Each probe's compliance (batch view ``probe_compliance``): no rows for a trip whose
    readings name no probe."""
    cursor = conn.execute(
        "SELECT probe_id AS probe, verdict, reason, round(mkt_c::numeric, 2)::float8 AS mkt_c, "
        "round((tor_s / 60)::numeric, 1)::float8 AS tor_min, excursions, min_c, max_c, readings "
        "FROM probe_compliance WHERE truck_id = %s AND trip_id = %s ORDER BY probe_id",
        [truck_id, trip_id],
    )
    return _table(cursor)


def reconciliation(conn: psycopg.Connection[tuple[Any, ...]], limit: int = ROW_LIMIT) -> Table:
    cursor = conn.execute(
        "SELECT status, truck_id, trip_id, rule, "
        "extract(epoch FROM excursion_start)::float8 AS excursion_start, "
        "extract(epoch FROM alert_opened_at)::float8 AS alert_opened, late_s, alert_id "
        "FROM reconciliation ORDER BY (status = 'on_time'), excursion_start DESC NULLS LAST "
        "LIMIT %s",
        [limit],
    )
    return _table(cursor)


def fuel_by_truck_view(conn: psycopg.Connection[tuple[Any, ...]]) -> Table:
    return _table(conn.execute("SELECT * FROM fuel_by_truck ORDER BY truck_id"))


def fuel_grouped(conn: psycopg.Connection[tuple[Any, ...]], by: str) -> Table:
    """Fuel efficiency summed by ``route`` or ``driver_id``."""
    from psycopg import sql

    if by not in ("route", "driver_id"):
        raise ValueError(f"fuel efficiency is grouped by route or driver_id, not {by!r}")
    query = sql.SQL(
        "SELECT {by}, count(*) AS trips, round(sum(distance_km)::numeric, 1)::float8 AS "
        "distance_km, round((sum(consumed_l) FILTER (WHERE distance_km >= 1) * 100 / "
        "nullif(sum(distance_km) FILTER (WHERE consumed_l IS NOT NULL AND distance_km >= 1), "
        "0))::numeric, 1)::float8 AS l_per_100km, sum(thefts) AS thefts "
        "FROM fuel_efficiency GROUP BY {by} ORDER BY {by}"
    ).format(by=sql.Identifier(by))
    return _table(conn.execute(query))


def driver_scorecards(conn: psycopg.Connection[tuple[Any, ...]]) -> Table:
    return _table(conn.execute("SELECT * FROM driver_scorecard ORDER BY score NULLS LAST"))


def fuel_thefts(conn: psycopg.Connection[tuple[Any, ...]], limit: int = 500) -> Table:
    """Thefts the batch layer suspects (fuel lost beyond what driving explains)."""
    cursor = conn.execute(
        "SELECT extract(epoch FROM start_time)::float8 AS start, truck_id, trip_id, "
        "round(litres::numeric, 1)::float8 AS litres, "
        "round(unexplained_l::numeric, 1)::float8 AS unexplained_l, lat, lon FROM fuel_events "
        "WHERE kind = 'theft' ORDER BY start_time DESC LIMIT %s",
        [limit],
    )
    return _table(cursor)


def archived_trips(conn: psycopg.Connection[tuple[Any, ...]], limit: int = 500) -> Table:
    """Trips as the raw archive knows them (before the batch views exist): extent and temps."""
    cursor = conn.execute(
        "SELECT trip_id, truck_id, min(cargo) AS cargo, min(driver_id) AS driver, "
        "extract(epoch FROM min(event_time))::float8 AS started, "
        "extract(epoch FROM max(event_time))::float8 AS last_reading, count(*) AS readings, "
        "min(temp) AS min_c, max(temp) AS max_c, avg(temp) AS mean_c FROM readings "
        "WHERE trip_id IS NOT NULL GROUP BY trip_id, truck_id ORDER BY started DESC LIMIT %s",
        [limit],
    )
    return _table(cursor)


def has_rows(conn: psycopg.Connection[tuple[Any, ...]], name: str) -> bool:
    from psycopg import sql

    if name not in AUDIT_VIEWS + ANALYTICS_VIEWS:
        raise ValueError(f"not a batch view the dashboard reads: {name!r}")
    query = sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(name))
    row = conn.execute(query).fetchone()
    return bool(row and row[0])


def trip_alerts(conn: psycopg.Connection[tuple[Any, ...]], trip_id: str) -> Table:
    """Every change of the trip's alerts: those sent with the trip's id, and its truck's alerts
    open at any time during it (carried over from the previous trip included), as the report."""
    # The trip's extent: the batch view's, else (not audited yet) the archive's.
    spans = []
    if "trips" in present(conn, ["trips"]):
        spans = conn.execute(
            "SELECT truck_id, start_time, end_time FROM trips WHERE trip_id = %s", [trip_id]
        ).fetchall()
    if not spans:
        spans = conn.execute(
            "SELECT truck_id, min(event_time), max(event_time) FROM readings "
            "WHERE trip_id = %s GROUP BY truck_id",
            [trip_id],
        ).fetchall()
    open_during: list[str] = []
    for truck_id, start, end in spans:
        found = conn.execute(
            OPEN_DURING.encode(), {"truck_id": truck_id, "start": start, "end": end}
        ).fetchall()
        open_during += [str(r[0]) for r in found]
    cursor = conn.execute(
        "SELECT extract(epoch FROM changed_at)::float8 AS changed, state, rule, severity, "
        "value, threshold, message, acknowledged_by, ack_note FROM alert_changes "
        "WHERE trip_id = %s OR alert_id = ANY(%s) ORDER BY changed_at",
        [trip_id, open_during],
    )
    return _table(cursor)


def failed_notifications(conn: psycopg.Connection[tuple[Any, ...]], alert_ids: list[str]) -> Table:
    """Notifications about these alerts that could not be delivered, with the reason."""
    cursor = conn.execute(
        "SELECT alert_id, truck_id, rule, recipient_name AS recipient, channel, attempts, "
        "last_error AS reason, extract(epoch FROM failed_at)::float8 AS failed "
        "FROM notifications WHERE status = 'failed' AND alert_id = ANY(%s) "
        "ORDER BY failed_at DESC",
        [alert_ids],
    )
    return _table(cursor)


def fuel_by_truck(conn: psycopg.Connection[tuple[Any, ...]]) -> Table:
    """The original LogiStream fuel audit, with the reading count."""
    cursor = conn.execute(
        "SELECT truck_id, AVG(fuel) AS avg_fuel, count(*) AS readings FROM truck_history "
        "GROUP BY truck_id ORDER BY truck_id"
    )
    return _table(cursor)


def theft_alerts(conn: psycopg.Connection[tuple[Any, ...]], limit: int = 500) -> Table:
    """Every ``fuel_theft`` alert the speed layer raised, in its latest archived state."""
    cursor = conn.execute(
        "SELECT * FROM (SELECT DISTINCT ON (alert_id) extract(epoch FROM opened_at)::float8 "
        "AS opened, truck_id, trip_id, state, value, threshold, lat, lon, message, alert_id "
        "FROM alert_changes WHERE rule = 'fuel_theft' ORDER BY alert_id, changed_at DESC) a "
        "ORDER BY opened DESC LIMIT %s",
        [limit],
    )
    return _table(cursor)
