"""The batch views as plain dicts, for the trip reports and the API: no ORM.

Every function takes an open psycopg connection (the reader role is enough: all of these are
SELECTs) and returns JSON-ready values (times as ``datetime``). Tables, if you prefer SQL:
``trips``, ``trip_gaps``, ``trip_compliance``, ``probe_compliance``, ``excursions``,
``fuel_efficiency``, ``fuel_events``, ``driver_behaviour``, ``reconciliation``,
``report_versions``, and the roll-ups ``fuel_by_truck`` and ``driver_scorecard``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from logistream.errors import TripNotFound
from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg

Record = dict[str, Any]


def _rows(
    conn: psycopg.Connection[Any], query: str, params: list[Any] | dict[str, Any]
) -> list[Record]:
    cur = conn.execute(query.encode(), params)
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def find_trip(conn: psycopg.Connection[Any], trip_id: str, truck_id: str | None = None) -> Record:
    """The trip (row of ``trips``); a trip id two trucks share needs ``truck_id``."""
    found = _rows(
        conn,
        "SELECT * FROM trips WHERE trip_id = %s AND (%s::text IS NULL OR truck_id = %s)",
        [trip_id, truck_id, truck_id],
    )
    if not found:
        raise TripNotFound(
            trip_id,
            f"no trip {trip_id!r} in the batch views; check the id, or run `logistream batch`",
            truck_id=truck_id,
        )
    if len(found) > 1:
        trucks = ", ".join(r["truck_id"] for r in found)
        raise TripNotFound(
            trip_id, f"trip {trip_id!r} exists for several trucks ({trucks}); add --truck"
        )
    return found[0]


def trip_compliance(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> Record:
    rows = _rows(
        conn,
        "SELECT c.*, p.label AS cargo_label, p.low_c, p.high_c, p.hard_low_c, p.hard_high_c "
        "FROM trip_compliance c JOIN batch_cargo_profiles p ON p.name = c.cargo "
        "WHERE c.truck_id = %s AND c.trip_id = %s",
        [truck_id, trip_id],
    )
    return rows[0] if rows else {}


def trip_probe_compliance(
    conn: psycopg.Connection[Any], truck_id: str, trip_id: str
) -> list[Record]:
    """Each probe's compliance (``probe_compliance``), by probe; empty for a trip whose readings
    name no probe (its ``trip_compliance`` row is its single probe's)."""
    return _rows(
        conn,
        "SELECT probe_id, readings, min_c, max_c, mean_c, tor_s, tor_budget_s, gap_s, mkt_c, "
        "hard_limit_passed, excursions, tor_alarm_at, verdict, reason FROM probe_compliance "
        "WHERE truck_id = %s AND trip_id = %s ORDER BY probe_id",
        [truck_id, trip_id],
    )


def trip_excursions(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    return _rows(
        conn,
        "SELECT kind, start_time, end_time, ongoing, duration_s, out_s, peak_c, peak_at, "
        "alarm_at, lat, lon, probe_id FROM excursions WHERE truck_id = %s AND trip_id = %s "
        "ORDER BY start_time, kind, probe_id",
        [truck_id, trip_id],
    )


def trip_gaps(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    return _rows(
        conn,
        "SELECT gap_start, gap_end, gap_s FROM trip_gaps WHERE truck_id = %s AND trip_id = %s "
        "ORDER BY gap_start",
        [truck_id, trip_id],
    )


def trip_sensor_faults(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    return _rows(
        conn,
        "SELECT start_time, end_time, ongoing, readings, min_c, max_c, last_good_c, probe_id "
        "FROM sensor_faults WHERE truck_id = %s AND trip_id = %s ORDER BY start_time, probe_id",
        [truck_id, trip_id],
    )


OPEN_DURING: Final = """
SELECT alert_id FROM alert_changes
WHERE truck_id = %(truck_id)s AND opened_at <= %(end)s AND state <> 'suppressed'
GROUP BY alert_id
HAVING coalesce(min(coalesce(resolved_at, changed_at)) FILTER (WHERE state = 'resolved'),
                'infinity') >= %(start)s
"""
"""The truck's alerts open at any moment of ``[start, end]``: opened during it, or opened before
and not resolved by ``start`` (carried over from the previous trip). Reconciliation pairs an
alert with a trip's excursion the same way, by time, so the trip's record must list it. A
``suppressed`` change (an alarm held during an operating mode) is never open: only its own trip
lists it."""


def trip_alerts(
    conn: psycopg.Connection[Any], truck_id: str, trip_id: str, start: datetime, end: datetime
) -> list[Record]:
    """The trip's alerts with every acknowledgement (who, when, note), from the append-only
    ``alert_changes``: an alert of this trip, or of this truck open at any time during it."""
    alerts = _rows(
        conn,
        "SELECT alert_id, rule, min(severity) AS severity, min(opened_at) AS opened_at, "
        "(array_agg(message ORDER BY changed_at))[1] AS message, max(value) AS value, "
        "max(threshold) AS threshold, "
        "min(coalesce(resolved_at, changed_at)) FILTER (WHERE state = 'resolved') AS resolved_at "
        "FROM alert_changes WHERE truck_id = %(truck_id)s "
        f"AND (trip_id = %(trip_id)s OR alert_id IN ({OPEN_DURING})) "
        "GROUP BY alert_id, rule ORDER BY min(opened_at), alert_id",
        {"truck_id": truck_id, "trip_id": trip_id, "start": start, "end": end},
    )
    acks = _rows(
        conn,
        "SELECT alert_id, changed_at AS at, acknowledged_by AS by, ack_note AS note "
        "FROM alert_changes WHERE truck_id = %s AND state = 'acknowledged' "
        "AND alert_id = ANY(%s) ORDER BY changed_at, acknowledged_by",
        [truck_id, [a["alert_id"] for a in alerts]],
    )
    for alert in alerts:
        alert["acknowledgements"] = [
            {k: v for k, v in ack.items() if k != "alert_id"}
            for ack in acks
            if ack["alert_id"] == alert["alert_id"]
        ]
    return alerts


def trip_reconciliation(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    return _rows(
        conn,
        "SELECT rule, status, excursion_start, expected_at, alert_id, alert_opened_at, late_s, "
        "probe_id FROM reconciliation WHERE truck_id = %s AND trip_id = %s "
        "ORDER BY coalesce(expected_at, alert_opened_at), rule, probe_id",
        [truck_id, trip_id],
    )


def trip_series(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    """The trip's archived temperatures in time order (for the chart), with the probe that read
    each (``None``: the single probe)."""
    return _rows(
        conn,
        "SELECT r.event_time, r.temp, coalesce(r.defrost, false) AS defrost, r.probe_id "
        f"FROM readings r WHERE r.truck_id = %s AND {TRIP_EXPR} = %s "
        "ORDER BY r.event_time, r.event_id",
        [truck_id, trip_id],
    )


def report_versions(conn: psycopg.Connection[Any], truck_id: str, trip_id: str) -> list[Record]:
    """The trip's issued versions in the order they were committed: numbered and stamped under
    one lock at commit, so version order is issue-time order."""
    return _rows(
        conn,
        "SELECT version, issued_at, digest, digest_format, readings, verdict "
        "FROM report_versions WHERE truck_id = %s AND trip_id = %s ORDER BY version",
        [truck_id, trip_id],
    )


def fleet(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> Record:
    """Fuel efficiency and driver scorecards for trips that started in ``[start, end)``."""
    window = "t.start_time >= %s AND t.start_time < %s"
    by_truck = _rows(
        conn,
        "SELECT f.truck_id, count(*) AS trips, sum(f.distance_km) AS distance_km, "
        "sum(f.consumed_l) AS consumed_l, sum(f.consumed_l) FILTER (WHERE f.distance_km >= 1) "
        "* 100 / nullif(sum(f.distance_km) FILTER (WHERE f.consumed_l IS NOT NULL "
        "AND f.distance_km >= 1), 0) AS l_per_100km, "
        "sum(f.reefer_l_per_h * f.reefer_hours) / nullif(sum(f.reefer_hours) "
        "FILTER (WHERE f.reefer_l_per_h IS NOT NULL), 0) AS reefer_l_per_h, "
        "sum(f.refuels) AS refuels, sum(f.refuelled_l) AS refuelled_l, "
        "sum(f.thefts) AS thefts, sum(f.stolen_l) AS stolen_l "
        f"FROM fuel_efficiency f JOIN trips t USING (truck_id, trip_id) WHERE {window} "
        "GROUP BY f.truck_id ORDER BY f.truck_id",
        [start, end],
    )
    by_route = _rows(
        conn,
        "SELECT coalesce(f.route, '(unknown)') AS route, count(*) AS trips, "
        "sum(f.distance_km) AS distance_km, sum(f.consumed_l) AS consumed_l, "
        "sum(f.consumed_l) FILTER (WHERE f.distance_km >= 1) * 100 / nullif(sum(f.distance_km) "
        "FILTER (WHERE f.consumed_l IS NOT NULL AND f.distance_km >= 1), 0) AS l_per_100km "
        f"FROM fuel_efficiency f JOIN trips t USING (truck_id, trip_id) WHERE {window} "
        "GROUP BY 1 ORDER BY 1",
        [start, end],
    )
    drivers = _rows(
        conn,
        "SELECT coalesce(d.driver_id, '(unknown)') AS driver_id, count(*) AS trips, "
        "sum(d.distance_km) AS distance_km, sum(d.harsh_brakes) AS harsh_brakes, "
        "sum(d.harsh_accels) AS harsh_accels, "
        "sum(d.harsh_brakes) * 100.0 / greatest(sum(d.distance_km), 10) AS brakes_per_100km, "
        "sum(d.harsh_accels) * 100.0 / greatest(sum(d.distance_km), 10) AS accels_per_100km, "
        "sum(d.speeding_s) AS speeding_s, sum(d.idling_s) AS idling_s, "
        "sum(d.driving_s) AS driving_s, "
        "coalesce(sum(d.score * d.distance_km) / nullif(sum(d.distance_km), 0), avg(d.score)) "
        "AS score, "
        "sum(f.consumed_l) FILTER (WHERE f.distance_km >= 1) * 100 / nullif(sum(f.distance_km) "
        "FILTER (WHERE f.consumed_l IS NOT NULL AND f.distance_km >= 1), 0) AS l_per_100km "
        "FROM driver_behaviour d JOIN trips t USING (truck_id, trip_id) "
        f"LEFT JOIN fuel_efficiency f USING (truck_id, trip_id) WHERE {window} "
        "GROUP BY 1 ORDER BY score DESC NULLS LAST, 1",
        [start, end],
    )
    thefts = _rows(
        conn,
        "SELECT e.truck_id, e.trip_id, e.start_time, e.end_time, e.litres, e.unexplained_l, "
        f"e.lat, e.lon FROM fuel_events e JOIN trips t USING (truck_id, trip_id) WHERE {window} "
        "AND e.kind = 'theft' ORDER BY e.start_time",
        [start, end],
    )
    verdicts = _rows(
        conn,
        "SELECT c.verdict, count(*) AS trips FROM trip_compliance c "
        f"JOIN trips t USING (truck_id, trip_id) WHERE {window} GROUP BY 1 ORDER BY 1",
        [start, end],
    )
    missed = _rows(
        conn,
        "SELECT r.status, count(*) AS count FROM reconciliation r "
        f"JOIN trips t USING (truck_id, trip_id) WHERE {window} GROUP BY 1 ORDER BY 1",
        [start, end],
    )
    return {
        "from": start,
        "to": end,
        "fuel_by_truck": by_truck,
        "fuel_by_route": by_route,
        "drivers": drivers,
        "thefts": thefts,
        "verdicts": verdicts,
        "reconciliation": missed,
    }
