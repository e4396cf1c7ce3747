"""``logistream batch``: recompute the batch views from the raw archive, set-based, idempotently.

One pass over the readings in scope: a stack of window functions that all share one ordering
(truck, trip, event time, event id), so PostgreSQL sorts once, computes per reading what the
pure modules compute (holds, defrost, hysteresis states, excursion and fuel-event islands,
accelerations), and aggregates per trip in the same stream. The few rows the excursion, fuel
event and gap tables need are gathered per trip as arrays, then grouped; nothing is looped over
in Python. The views of the trips in scope are replaced inside one transaction: running twice
changes nothing, and a reader never sees half a run.

Speed (``workers`` > 1, what ``logistream batch`` does): the pass is nearly all of the time and
runs on one core per connection, so it is cut into slices of whole trucks (a trip never spans
two) run on several connections into unlogged staging tables; the last step replaces the views
from them in one transaction as before. Slices are bounded in size (``ROWS_PER_SLICE``) so
that each sort stays moderate. JIT is off: it spends seconds compiling this many expressions.

Scope: all trips, or the trips with a reading in ``[from, to)`` (each recomputed whole, from
all its readings), or one trip (reports).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logistream.batch.views.params import BatchParams, params_from_rules
from logistream.registry import Registry

if TYPE_CHECKING:
    import psycopg

VIEW_TABLES = (
    "trips",
    "trip_gaps",
    "trip_compliance",
    "excursions",
    "fuel_efficiency",
    "fuel_events",
    "driver_behaviour",
)

# A trip's key: the trip_id sent, else truck and UTC day (the original producer sends none).
TRIP_EXPR = (
    "coalesce(r.trip_id, r.truck_id || '@' || to_char(r.event_time AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD'))"
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which trips to recompute: everything (the default), a time range, or one trip."""

    start: datetime | None = None
    end: datetime | None = None
    truck_id: str | None = None
    trip_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.start is None and self.end is None and self.trip_id is None


@dataclass(frozen=True, slots=True)
class RunResult:
    trips: int
    seconds: float


def _sync_registry(conn: psycopg.Connection[Any], registry: Registry) -> None:
    """Replace the registry copies (same registry: same rows, so a rerun changes nothing)."""
    conn.execute("DELETE FROM batch_cargo_profiles")
    conn.execute("DELETE FROM batch_trucks")
    conn.execute("DELETE FROM batch_routes")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO batch_cargo_profiles VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    p.name,
                    p.label,
                    p.low_c,
                    p.high_c,
                    p.hard_low_c,
                    p.hard_high_c,
                    p.alarm_delay_high_s,
                    p.alarm_delay_low_s,
                    p.hysteresis_c,
                    p.tor_budget_s,
                    p.defrost_allowance_c,
                    p.defrost_max_s,
                    p.mkt_enabled,
                    p.activation_energy_kj_mol,
                )
                for p in registry.cargo.values()
            ],
        )
        cur.executemany(
            "INSERT INTO batch_trucks VALUES (%s, %s, %s, %s, %s)",
            [(t.truck_id, t.driver_id, t.route, t.cargo, t.tank_litres) for t in registry.trucks],
        )
        cur.executemany(
            "INSERT INTO batch_routes VALUES (%s, %s, %s, %s)",
            [
                (r.name, r.label, r.waypoints[0].name, r.waypoints[-1].name)
                for r in registry.routes.values()
            ],
        )


def _scope_sql(scope: Scope, table: str = "batch_scope") -> str:
    """A filter on ``readings r`` (after the scope table exists)."""
    if scope.everything:
        return "TRUE"
    return (
        f"r.truck_id IN (SELECT truck_id FROM {table}) "
        f"AND (r.truck_id, {TRIP_EXPR}) IN (SELECT truck_id, trip_id FROM {table})"
    )


def _make_scope(conn: psycopg.Connection[Any], scope: Scope, table: str = "batch_scope") -> None:
    """The trips in scope; a temporary table, or (``batch_stage_scope``) an unlogged one that
    the parallel workers' sessions can read too."""
    if table == "batch_scope":
        conn.execute("CREATE TEMP TABLE batch_scope (truck_id text, trip_id text) ON COMMIT DROP")
    else:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE UNLOGGED TABLE {table} (truck_id text, trip_id text)")
    if scope.everything:
        return
    if scope.trip_id is not None:
        where, params = "r.truck_id = %s", [scope.truck_id]
        if scope.truck_id is None:
            where, params = "r.trip_id = %s", [scope.trip_id]
        conn.execute(
            f"INSERT INTO {table} SELECT DISTINCT r.truck_id, {TRIP_EXPR} FROM readings r "
            f"WHERE {where} AND {TRIP_EXPR} = %s",
            [*params, scope.trip_id],
        )
    else:
        conn.execute(
            f"INSERT INTO {table} SELECT DISTINCT r.truck_id, {TRIP_EXPR} FROM readings r "
            "WHERE (%s::timestamptz IS NULL OR r.event_time >= %s) "
            "AND (%s::timestamptz IS NULL OR r.event_time < %s)",
            [scope.start, scope.start, scope.end, scope.end],
        )
    conn.execute(f"ANALYZE {table}")


def _pass_sql(p: BatchParams, where: str) -> str:
    """The one pass into a temporary table (the serial path, inside the run's transaction)."""
    return "CREATE TEMP TABLE batch_trip_pass ON COMMIT DROP AS\n" + _pass_select(p, where)


_LATE_COLUMNS = (
    "truck_id, trip_id, event_id, event_time, trip_sent, driver_id, profile, tank, budget, "
    "h_over_r, rn, ts, next_ts, dt, temp, lat, lon, speed_kmh, reefer_on, defrost, fuel_smooth, "
    "w, uncovered, seg_km, d_l, unexplained, high_eff, beyond_hard, above, below, brake, launch"
)
"""The per-reading columns the steps after the classification (l5 onwards) still need."""


def _pass_select(p: BatchParams, where: str) -> str:
    """The one pass over the readings: per-trip aggregates plus the marked rows."""
    hold, gap, smooth = p.hold_max_s, p.gap_s, p.fuel_smooth_s
    return f"""
WITH src AS (
    SELECT r.truck_id, {TRIP_EXPR} AS trip_id, r.trip_id IS NOT NULL AS trip_sent,
           r.event_id, r.event_time, extract(epoch FROM r.event_time)::float8 AS ts,
           r.temp, r.fuel, r.driver_id, r.lat, r.lon, r.speed_kmh,
           coalesce(r.defrost, false) AS defrost, r.reefer_on,
           coalesce(p.name, d.name) AS profile,
           coalesce(p.low_c, d.low_c) AS low_c, coalesce(p.high_c, d.high_c) AS high_c,
           CASE WHEN p.name IS NULL THEN d.hard_low_c ELSE p.hard_low_c END AS hard_low_c,
           CASE WHEN p.name IS NULL THEN d.hard_high_c ELSE p.hard_high_c END AS hard_high_c,
           coalesce(p.hysteresis_c, d.hysteresis_c) AS hyst,
           coalesce(p.defrost_allowance_c, d.defrost_allowance_c) AS allowance,
           coalesce(p.defrost_max_s, d.defrost_max_s) AS defrost_max_s,
           coalesce(p.tor_budget_s, d.tor_budget_s) AS budget,
           coalesce(p.activation_energy_kj_mol, d.activation_energy_kj_mol) * 1000.0 / 8.3144
               AS h_over_r,
           coalesce(t.tank_litres, {p.default_tank_litres}) AS tank
    FROM readings r
    LEFT JOIN batch_cargo_profiles p ON p.name = r.cargo
    CROSS JOIN (SELECT * FROM batch_cargo_profiles WHERE name = 'default') d
    LEFT JOIN batch_trucks t ON t.truck_id = r.truck_id
    WHERE {where}
),
l1 AS (
    SELECT s.*,
           row_number() OVER w AS rn,
           lag(ts) OVER w AS prev_ts,
           lead(ts) OVER w AS next_ts,
           lag(lat) OVER w AS prev_lat,
           lag(lon) OVER w AS prev_lon,
           lag(speed_kmh) OVER w AS prev_speed,
           lag(defrost) OVER w AS prev_defrost,
           avg(fuel) OVER wr AS fuel_smooth
    FROM src s
    WINDOW w AS (PARTITION BY truck_id, trip_id ORDER BY event_time, event_id),
           wr AS (PARTITION BY truck_id, trip_id ORDER BY event_time
                  RANGE BETWEEN interval '{smooth} seconds' PRECEDING AND CURRENT ROW)
),
l2 AS (
    SELECT l1.*,
           least(coalesce(next_ts - ts, 0), {hold}) AS w,
           greatest(coalesce(next_ts - ts, 0) - {hold}, 0) AS uncovered,
           ts - prev_ts AS dt,
           CASE WHEN prev_lat IS NOT NULL AND prev_lon IS NOT NULL AND lat IS NOT NULL
                     AND lon IS NOT NULL
                THEN batch_haversine_km(prev_lat, prev_lon, lat, lon) ELSE 0 END AS seg_km,
           CASE WHEN prev_speed IS NOT NULL AND speed_kmh IS NOT NULL AND ts - prev_ts > 0
                     AND ts - prev_ts <= {p.accel_max_gap_s}
                THEN (speed_kmh - prev_speed) / 3.6 / (ts - prev_ts) END AS accel,
           max(CASE WHEN defrost AND prev_defrost IS DISTINCT FROM true THEN ts END)
               OVER w AS defrost_since,
           lag(fuel_smooth) OVER w AS prev_smooth
    FROM l1
    WINDOW w AS (PARTITION BY truck_id, trip_id ORDER BY event_time, event_id)
),
l3 AS (
    SELECT l2.*, c.*,
           (fuel_smooth - prev_smooth) / 100.0 * tank AS d_l,
           -((fuel_smooth - prev_smooth) / 100.0 * tank)
               - ({p.drive_l_per_km_max} * seg_km + {p.idle_l_per_h} * dt / 3600.0) AS unexplained,
           coalesce(accel <= -{p.harsh_braking_ms2}, false) AS brake,
           coalesce(accel >= {p.harsh_acceleration_ms2}, false) AS launch
    FROM l2
    CROSS JOIN LATERAL (
        SELECT high_c + CASE WHEN defrost AND ts - defrost_since <= defrost_max_s
                             THEN allowance ELSE 0 END AS high_eff,
               (hard_high_c IS NOT NULL AND temp > hard_high_c)
                   OR (hard_low_c IS NOT NULL AND temp < hard_low_c) AS beyond_hard
    ) c
),
l4 AS (
    SELECT l3.*,
           temp > high_eff AS above,
           temp < low_c AS below,
           CASE WHEN temp > high_eff THEN 1 WHEN temp <= high_eff - hyst THEN 0 END AS cls_high,
           CASE WHEN temp < low_c THEN 1 WHEN temp >= low_c + hyst THEN 0 END AS cls_low,
           CASE WHEN beyond_hard THEN 1
                WHEN (hard_high_c IS NULL OR temp <= hard_high_c - hyst)
                     AND (hard_low_c IS NULL OR temp >= hard_low_c + hyst) THEN 0 END AS cls_crit,
           coalesce(d_l IS NOT NULL AND dt > 0
                    AND d_l >= {p.refuel_rate_l_per_min} * dt / 60.0, false) AS refuel_row,
           coalesce(d_l IS NOT NULL AND dt > 0
                    AND unexplained >= {p.theft_rate_l_per_min} * dt / 60.0, false) AS theft_row
    FROM l3
),
l5 AS (
    -- From here on, only the columns later steps read: each window step copies every row it
    -- carries, so the limits and helper columns used up by now are left behind.
    SELECT {_LATE_COLUMNS},
           -- The last decisive (non-band) reading's state, carried over band readings.
           coalesce((max(CASE WHEN cls_high IS NOT NULL THEN rn * 2 + cls_high END) OVER w) % 2 = 1,
                    false) AS st_high,
           coalesce((max(CASE WHEN cls_low IS NOT NULL THEN rn * 2 + cls_low END) OVER w) % 2 = 1,
                    false) AS st_low,
           coalesce((max(CASE WHEN cls_crit IS NOT NULL THEN rn * 2 + cls_crit END) OVER w) % 2 = 1,
                    false) AS st_crit,
           coalesce(sum(CASE WHEN above OR below THEN w END)
               OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS tor_before,
           coalesce(lag(brake) OVER w, false) AS prev_brake,
           coalesce(lag(launch) OVER w, false) AS prev_launch,
           bool_or(refuel_row) OVER wm AS refuel_zone,
           bool_or(theft_row) OVER wm AS theft_zone,
           bool_or(refuel_row OR theft_row) OVER wn AS near_event,
           min(CASE WHEN speed_kmh > {p.parked_kmh} THEN ts END) OVER wp AS first_moving,
           max(CASE WHEN speed_kmh > {p.parked_kmh} THEN ts END) OVER wp AS last_moving
    FROM l4
    WINDOW w AS (PARTITION BY truck_id, trip_id ORDER BY event_time, event_id),
           wn AS (PARTITION BY truck_id, trip_id ORDER BY event_time
                  RANGE BETWEEN interval '{smooth} seconds' PRECEDING
                            AND interval '{smooth} seconds' FOLLOWING),
           wm AS (PARTITION BY truck_id, trip_id ORDER BY event_time
                  RANGE BETWEEN interval '{p.event_merge_s} seconds' PRECEDING
                            AND interval '{p.event_merge_s} seconds' FOLLOWING),
           wp AS (PARTITION BY truck_id, trip_id)
),
l6 AS (
    SELECT l5.*,
           st_high AND NOT coalesce(lag(st_high) OVER w, false) AS high_starts,
           st_low AND NOT coalesce(lag(st_low) OVER w, false) AS low_starts,
           st_crit AND NOT coalesce(lag(st_crit) OVER w, false) AS crit_starts,
           refuel_zone AND NOT coalesce(lag(refuel_zone) OVER w, false) AS refuel_starts,
           theft_zone AND NOT coalesce(lag(theft_zone) OVER w, false) AS theft_starts
    FROM l5
    WINDOW w AS (PARTITION BY truck_id, trip_id ORDER BY event_time, event_id)
),
l7 AS (
    SELECT l6.*,
           sum(high_starts::int) OVER w AS exc_high_no,
           sum(low_starts::int) OVER w AS exc_low_no,
           sum(crit_starts::int) OVER w AS exc_crit_no,
           sum(refuel_starts::int) OVER w AS refuel_no,
           sum(theft_starts::int) OVER w AS theft_no
    FROM l6
    WINDOW w AS (PARTITION BY truck_id, trip_id ORDER BY event_time, event_id)
)
SELECT truck_id, trip_id,
       bool_or(trip_sent) AS trip_sent,
       coalesce(max(driver_id) FILTER (WHERE rn = 1), max(driver_id)) AS driver_id,
       max(profile) FILTER (WHERE rn = 1) AS profile,
       max(tank) AS tank,
       min(event_time) AS start_time, max(event_time) AS end_time,
       max(lat) FILTER (WHERE rn = 1) AS start_lat, max(lon) FILTER (WHERE rn = 1) AS start_lon,
       max(lat) FILTER (WHERE next_ts IS NULL) AS end_lat,
       max(lon) FILTER (WHERE next_ts IS NULL) AS end_lon,
       sum(seg_km) AS distance_km,
       count(*) AS readings,
       count(*) FILTER (WHERE next_ts - ts > {gap}) AS gap_count,
       coalesce(sum(next_ts - ts) FILTER (WHERE next_ts - ts > {gap}), 0) AS gap_total_s,
       coalesce(max(next_ts - ts) FILTER (WHERE next_ts - ts > {gap}), 0) AS longest_gap_s,
       min(temp) AS min_c, max(temp) AS max_c,
       sum(temp * w) / nullif(sum(w), 0) AS mean_c,
       coalesce(sum(w) FILTER (WHERE above), 0) AS above_s,
       coalesce(sum(w) FILTER (WHERE below), 0) AS below_s,
       coalesce(sum(w) FILTER (WHERE defrost), 0) AS defrost_s,
       sum(w) AS covered_s,
       sum(uncovered) AS uncovered_s,
       sum(w * exp(-h_over_r / (temp + 273.15))) AS arrhenius_sum,
       bool_or(beyond_hard) AS hard_limit_passed,
       min(ts) FILTER (WHERE budget > 0 AND tor_before >= budget) AS tor_alarm_ts,
       count(*) FILTER (WHERE brake AND NOT prev_brake) AS harsh_brakes,
       count(*) FILTER (WHERE launch AND NOT prev_launch) AS harsh_accels,
       coalesce(sum(w) FILTER (WHERE speed_kmh > {p.parked_kmh}), 0) AS driving_s,
       coalesce(sum(w) FILTER (WHERE speed_kmh > {p.speed_limit_kmh}), 0) AS speeding_s,
       coalesce(sum(w) FILTER (WHERE speed_kmh <= {p.parked_kmh} AND ts >= first_moving
                                 AND ts < last_moving), 0) AS idling_s,
       max(speed_kmh) AS max_speed_kmh,
       max(fuel_smooth) FILTER (WHERE rn = first_fuel_rn) AS fuel_first_pct,
       max(fuel_smooth) FILTER (WHERE rn = last_fuel_rn) AS fuel_last_pct,
       coalesce(sum(least(dt, {hold})) FILTER (WHERE reefer_ok), 0) AS reefer_s,
       coalesce(-sum(d_l) FILTER (WHERE reefer_ok), 0) AS reefer_l,
       array_agg(ROW(ts, next_ts, temp, lat, lon, w, above, below, beyond_hard, high_eff,
                     st_high, st_low, st_crit, exc_high_no, exc_low_no, exc_crit_no,
                     refuel_zone, theft_zone, refuel_no, theft_no, d_l, unexplained
                 )::batch_marked_row)
           FILTER (WHERE st_high OR st_low OR st_crit OR refuel_zone OR theft_zone
                         OR next_ts - ts > {gap}) AS marked
FROM (
    SELECT l7.*,
           min(CASE WHEN fuel_smooth IS NOT NULL THEN rn END)
               OVER (PARTITION BY truck_id, trip_id) AS first_fuel_rn,
           max(CASE WHEN fuel_smooth IS NOT NULL THEN rn END)
               OVER (PARTITION BY truck_id, trip_id) AS last_fuel_rn,
           speed_kmh <= {p.parked_kmh} AND reefer_on AND d_l IS NOT NULL AND dt > 0
               AND NOT near_event AS reefer_ok
    FROM l7
) x
GROUP BY truck_id, trip_id
"""


def _write_sql(p: BatchParams, per_trip: str = "batch_trip_pass") -> list[tuple[str, str]]:
    """From the per-trip pass to the view tables (the trips in scope were deleted first):
    (view, statement) pairs, in an order where each reads only what was written before it."""
    marked = f"SELECT tp.truck_id, tp.trip_id, tp.profile, (unnest(tp.marked)).* FROM {per_trip} tp"
    statements = [
        """
INSERT INTO trips
SELECT tp.truck_id, tp.trip_id, tp.trip_sent, tp.driver_id, tp.profile, bt.route,
       tp.start_time, tp.end_time, extract(epoch FROM tp.end_time - tp.start_time)::float8,
       tp.start_lat, tp.start_lon, tp.end_lat, tp.end_lon, tp.distance_km, tp.readings,
       tp.gap_count, tp.gap_total_s, tp.longest_gap_s
FROM batch_trip_pass tp LEFT JOIN batch_trucks bt ON bt.truck_id = tp.truck_id
""",
        f"""
INSERT INTO trip_gaps
SELECT truck_id, trip_id, to_timestamp(ts), to_timestamp(next_ts), next_ts - ts
FROM ({marked}) m WHERE next_ts - ts > {p.gap_s}
""",
        f"""
INSERT INTO excursions
WITH m AS ({marked}),
ex AS (
    SELECT m.truck_id, m.trip_id, 'high' AS kind, exc_high_no AS no, ts, next_ts, temp, lat, lon,
           w, above AS beyond, temp - high_eff AS violation, c.alarm_delay_high_s AS delay
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_high
    UNION ALL
    SELECT m.truck_id, m.trip_id, 'low', exc_low_no, ts, next_ts, temp, lat, lon,
           w, below, c.low_c - temp, c.alarm_delay_low_s
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_low
    UNION ALL
    SELECT m.truck_id, m.trip_id, 'critical', exc_crit_no, ts, next_ts, temp, lat, lon,
           w, beyond_hard,
           greatest(coalesce(temp - c.hard_high_c, '-infinity'),
                    coalesce(c.hard_low_c - temp, '-infinity')), 0
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_crit
),
g AS (SELECT ex.*, min(ts) OVER (PARTITION BY truck_id, trip_id, kind, no) AS start_ts FROM ex)
SELECT truck_id, trip_id, kind, to_timestamp(min(ts)),
       to_timestamp(coalesce(max(next_ts), max(ts))), bool_or(next_ts IS NULL),
       coalesce(max(next_ts), max(ts)) - min(ts),
       coalesce(sum(w) FILTER (WHERE beyond), 0),
       (array_agg(temp ORDER BY violation DESC, ts) FILTER (WHERE beyond))[1],
       to_timestamp((array_agg(ts ORDER BY violation DESC, ts) FILTER (WHERE beyond))[1]),
       to_timestamp(min(ts) FILTER (WHERE beyond AND ts - start_ts >= delay)),
       (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1]
FROM g GROUP BY truck_id, trip_id, kind, no
""",
        """
INSERT INTO trip_compliance
SELECT tp.truck_id, tp.trip_id, tp.profile, tp.readings, tp.min_c, tp.max_c, tp.mean_c,
       tp.above_s, tp.below_s, tp.above_s + tp.below_s, c.tor_budget_s, tp.defrost_s,
       tp.covered_s, tp.uncovered_s, v.mkt_c, c.activation_energy_kj_mol, tp.hard_limit_passed,
       v.excursions, to_timestamp(tp.tor_alarm_ts),
       CASE WHEN tp.hard_limit_passed THEN 'fail'
            WHEN c.tor_budget_s > 0 AND tp.above_s + tp.below_s >= c.tor_budget_s THEN 'fail'
            WHEN v.excursions > 0 OR tp.above_s + tp.below_s > 0 THEN 'review'
            WHEN v.mkt_c > c.high_c THEN 'review'
            WHEN c.tor_budget_s > 0 AND tp.uncovered_s >= c.tor_budget_s THEN 'review'
            ELSE 'pass' END,
       CASE WHEN tp.hard_limit_passed THEN 'a hard temperature limit was passed'
            WHEN c.tor_budget_s > 0 AND tp.above_s + tp.below_s >= c.tor_budget_s
                THEN format('out of range %s min, budget %s min spent',
                            round((tp.above_s + tp.below_s) / 60), round(c.tor_budget_s / 60))
            WHEN v.excursions > 0 OR tp.above_s + tp.below_s > 0
                THEN format('excursions within budget: out of range %s min',
                            round(((tp.above_s + tp.below_s) / 60)::numeric, 1))
            WHEN v.mkt_c > c.high_c
                THEN format('MKT %s °C above the %s °C limit', round(v.mkt_c::numeric, 2), c.high_c)
            WHEN c.tor_budget_s > 0 AND tp.uncovered_s >= c.tor_budget_s
                THEN format('%s min without readings could hide a spent budget',
                            round(tp.uncovered_s / 60))
            ELSE 'always within range' END
FROM batch_trip_pass tp
JOIN batch_cargo_profiles c ON c.name = tp.profile
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.mkt_enabled AND tp.covered_s > 0
                THEN (c.activation_energy_kj_mol * 1000.0 / 8.3144)
                     / -ln(tp.arrhenius_sum / tp.covered_s) - 273.15 END AS mkt_c,
           (SELECT count(*) FROM excursions e
            WHERE e.truck_id = tp.truck_id AND e.trip_id = tp.trip_id
              AND e.kind <> 'critical')::int AS excursions
) v
""",
        f"""
INSERT INTO fuel_events
WITH m AS ({marked})
SELECT truck_id, trip_id, 'refuel', to_timestamp(min(ts)), to_timestamp(max(ts)), sum(d_l), 0,
       (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1]
FROM m WHERE refuel_zone GROUP BY truck_id, trip_id, refuel_no
HAVING sum(d_l) >= {p.refuel_min_l}
UNION ALL
SELECT truck_id, trip_id, 'theft', to_timestamp(min(ts)), to_timestamp(max(ts)), -sum(d_l),
       sum(unexplained), (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1]
FROM m WHERE theft_zone GROUP BY truck_id, trip_id, theft_no
HAVING sum(unexplained) >= {p.theft_min_l}
""",
        f"""
INSERT INTO fuel_efficiency
SELECT tp.truck_id, tp.trip_id, tp.driver_id, bt.route, tp.tank, tp.distance_km,
       tp.fuel_first_pct / 100.0 * tp.tank, tp.fuel_last_pct / 100.0 * tp.tank, f.consumed,
       CASE WHEN tp.distance_km >= 1 THEN f.consumed / tp.distance_km * 100 END,
       f.refuelled, f.refuels, f.stolen, f.thefts, tp.reefer_s / 3600.0,
       CASE WHEN tp.reefer_s / 3600.0 >= {p.reefer_min_h}
            THEN tp.reefer_l / (tp.reefer_s / 3600.0) END
FROM batch_trip_pass tp
LEFT JOIN batch_trucks bt ON bt.truck_id = tp.truck_id
CROSS JOIN LATERAL (
    SELECT coalesce(sum(litres) FILTER (WHERE kind = 'refuel'), 0) AS refuelled,
           count(*) FILTER (WHERE kind = 'refuel')::int AS refuels,
           coalesce(sum(litres) FILTER (WHERE kind = 'theft'), 0) AS stolen,
           count(*) FILTER (WHERE kind = 'theft')::int AS thefts
    FROM fuel_events e WHERE e.truck_id = tp.truck_id AND e.trip_id = tp.trip_id
) e
CROSS JOIN LATERAL (
    SELECT (tp.fuel_first_pct - tp.fuel_last_pct) / 100.0 * tp.tank + e.refuelled - e.stolen
               AS consumed,
           e.refuelled, e.refuels, e.stolen, e.thefts
) f
""",
        """
INSERT INTO driver_behaviour
SELECT tp.driver_id, tp.truck_id, tp.trip_id, tp.distance_km, tp.harsh_brakes, tp.harsh_accels,
       tp.harsh_brakes * r.per, tp.harsh_accels * r.per, tp.driving_s, tp.speeding_s,
       tp.idling_s, tp.max_speed_kmh,
       least(100.0, greatest(0.0,
           100.0 - 5.0 * (tp.harsh_brakes * r.per + tp.harsh_accels * r.per)
           - 100.0 * CASE WHEN tp.driving_s > 0 THEN tp.speeding_s / tp.driving_s ELSE 0 END
           - 20.0 * CASE WHEN tp.driving_s + tp.idling_s > 0
                         THEN tp.idling_s / (tp.driving_s + tp.idling_s) ELSE 0 END))
FROM batch_trip_pass tp
CROSS JOIN LATERAL (SELECT 100.0 / greatest(tp.distance_km, 10.0) AS per) r
""",
    ]
    views = (
        "trips",
        "trip_gaps",
        "excursions",
        "trip_compliance",
        "fuel_events",
        "fuel_efficiency",
        "driver_behaviour",
    )
    return [
        (view, statement.replace("batch_trip_pass", per_trip))
        for view, statement in zip(views, statements, strict=True)
    ]


RECONCILE_RULES = ("temp_high", "temp_low", "temp_critical", "tor_budget")


def _reconcile_sql(p: BatchParams) -> str:
    tol = p.alert_tolerance_s
    return f"""
INSERT INTO reconciliation
WITH expected AS (
    SELECT truck_id, trip_id,
           CASE kind WHEN 'high' THEN 'temp_high' WHEN 'low' THEN 'temp_low'
                     ELSE 'temp_critical' END AS rule,
           start_time AS exc_start, end_time AS exc_end, alarm_at
    FROM excursions
    UNION ALL
    SELECT c.truck_id, c.trip_id, 'tor_budget', t.start_time, t.end_time, c.tor_alarm_at
    FROM trip_compliance c JOIN trips t USING (truck_id, trip_id)
    WHERE c.tor_alarm_at IS NOT NULL
),
alerts AS (
    SELECT alert_id, truck_id, max(trip_id) AS trip_id, rule, min(opened_at) AS opened_at,
           min(coalesce(resolved_at, changed_at)) FILTER (WHERE state = 'resolved')
               AS resolved_at
    FROM alert_changes
    WHERE rule IN ('temp_high', 'temp_low', 'temp_critical', 'tor_budget')
    GROUP BY alert_id, truck_id, rule
),
pairs AS (
    SELECT x.*, a.alert_id, a.opened_at,
           row_number() OVER (PARTITION BY x.truck_id, x.rule, x.exc_start
                              ORDER BY a.opened_at, a.alert_id) AS k
    FROM expected x
    JOIN alerts a ON a.truck_id = x.truck_id AND a.rule = x.rule
     AND a.opened_at <= x.exc_end + interval '{tol} seconds'
     AND coalesce(a.resolved_at, 'infinity') >= x.exc_start - interval '{tol} seconds'
     AND (x.rule <> 'tor_budget' OR a.trip_id IS NULL OR a.trip_id = x.trip_id)
)
SELECT x.truck_id, x.trip_id, x.rule,
       CASE WHEN p.alert_id IS NULL THEN 'missed'
            WHEN x.alarm_at IS NULL THEN 'early'
            WHEN extract(epoch FROM p.opened_at - x.alarm_at) > {tol} THEN 'late'
            ELSE 'on_time' END,
       x.exc_start, x.alarm_at, p.alert_id, p.opened_at,
       CASE WHEN p.alert_id IS NOT NULL AND x.alarm_at IS NOT NULL
            THEN greatest(0, extract(epoch FROM p.opened_at - x.alarm_at))::float8 END
FROM expected x
LEFT JOIN pairs p ON p.truck_id = x.truck_id AND p.rule = x.rule AND p.exc_start = x.exc_start
                 AND p.k = 1
WHERE p.alert_id IS NOT NULL OR x.alarm_at IS NOT NULL
UNION ALL
SELECT a.truck_id, a.trip_id, a.rule, 'unmatched_alert', NULL, NULL, a.alert_id, a.opened_at,
       NULL
FROM alerts a
WHERE NOT EXISTS (SELECT FROM pairs p WHERE p.alert_id = a.alert_id)
"""


Progress = Callable[[str, float], None]
"""Called after each step with a one-line description and the seconds since the run began."""

STAGE_TRIPS = "batch_stage_trips"
STAGE_SCOPE = "batch_stage_scope"
ROWS_PER_SLICE = 4_000_000
"""Readings per slice, about: a smaller slice sorts with less spilling past work_mem, but every
slice scans the whole archive once, so not many more slices than that."""
WORK_MEM = "512MB"
"""One sort of a slice in memory is much faster than spilling it in pieces."""
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('logistream.batch'))"
"""Runs are serialised: two at once would each delete and insert the same trips."""


def _slice_sql(k: int, n: int) -> str:
    # Whole trucks per slice keep every trip (a window partition) in one slice.
    return f"(hashtext(r.truck_id) & 2147483647) % {n} = {k}" if n > 1 else "TRUE"


def _estimated_readings(conn: psycopg.Connection[Any]) -> float:
    row = conn.execute(
        "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'readings'::regclass"
    ).fetchone()
    return float(row[0]) if row else 0.0


def _conninfo(conn: psycopg.Connection[Any]) -> str:
    """The connection's own parameters, password included, for the workers' connections."""
    from psycopg.conninfo import make_conninfo

    options = {
        o.keyword.decode(): o.val.decode()
        for o in conn.pgconn.info
        if o.val is not None and o.keyword.decode() not in ("replication",)
    }
    return make_conninfo(**options)


def _write_views(
    conn: psycopg.Connection[Any],
    scope: Scope,
    params: BatchParams,
    per_trip: str,
    scope_table: str,
    step: Callable[[str], None],
    started_at: datetime,
    began: float,
) -> RunResult:
    """Inside the caller's transaction: replace the views of the trips in scope from the pass."""
    if scope.everything:
        for table in VIEW_TABLES:
            conn.execute(f"DELETE FROM {table}")
    else:
        for table in VIEW_TABLES:
            conn.execute(
                f"DELETE FROM {table} v USING {scope_table} s "
                "WHERE v.truck_id = s.truck_id AND v.trip_id = s.trip_id"
            )
    step("old rows of the trips in scope deleted")
    for view, statement in _write_sql(params, per_trip):
        done = conn.execute(statement.encode())
        step(f"{view}: {done.rowcount:,} rows")
    conn.execute("DELETE FROM reconciliation")
    done = conn.execute(_reconcile_sql(params).encode())
    step(f"reconciliation: {done.rowcount:,} rows")
    row = conn.execute(f"SELECT count(*) FROM {per_trip}").fetchone()
    trips = int(row[0]) if row else 0
    seconds = time.monotonic() - began
    conn.execute(
        "INSERT INTO batch_runs (started_at, finished_at, range_from, range_to, trips, "
        "seconds) VALUES (%s, now(), %s, %s, %s, %s)",
        [started_at, scope.start, scope.end, trips, seconds],
    )
    return RunResult(trips=trips, seconds=seconds)


@lru_cache(maxsize=4)
def configured_params(rules_file: Path | None) -> BatchParams:
    """The batch thresholds of a rules file (``None``: the shipped rules.toml)."""
    from logistream.speed.rules.config import load_rules_config

    return params_from_rules(load_rules_config(rules_file))


def recompute(
    conn: psycopg.Connection[Any],
    registry: Registry,
    scope: Scope | None = None,
    params: BatchParams | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> RunResult:
    """Recompute the views of the trips in ``scope``; see the module doc.

    With ``workers`` > 1 (and ``conn`` not inside a transaction) the pass runs in slices of
    whole trucks on that many connections at once; the views are still replaced in one
    transaction at the end. A single trip, or a connection in a transaction, runs serially.
    ``params`` unset: those of the rules file the settings name (``LOGISTREAM_RULES_FILE``).
    """
    from datetime import UTC

    from psycopg.pq import TransactionStatus

    from logistream.config import get_settings

    if params is None:
        params = configured_params(get_settings().rules_file)

    scope = scope or Scope()
    began = time.monotonic()
    started_at = datetime.now(UTC)

    def step(what: str) -> None:
        if progress is not None:
            progress(what, time.monotonic() - began)

    idle = conn.info.transaction_status == TransactionStatus.IDLE
    if workers <= 1 or scope.trip_id is not None or not idle:
        with conn.transaction():
            conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            # Compiling this many expressions costs seconds and gains less than it costs.
            conn.execute("SET LOCAL jit = off")
            conn.execute(_LOCK)
            _sync_registry(conn, registry)
            _make_scope(conn, scope)
            step("registry copied, scope chosen")
            conn.execute(_pass_sql(params, _scope_sql(scope)).encode())
            step("pass over the readings")
            result = _write_views(
                conn, scope, params, "batch_trip_pass", "batch_scope", step, started_at, began
            )
        step(f"committed: {result.trips:,} trips")
        return result
    return _recompute_parallel(conn, registry, scope, params, workers, step, started_at, began)


def _recompute_parallel(
    conn: psycopg.Connection[Any],
    registry: Registry,
    scope: Scope,
    params: BatchParams,
    workers: int,
    step: Callable[[str], None],
    started_at: datetime,
    began: float,
) -> RunResult:
    """The pass in slices on ``workers`` connections into unlogged staging tables (committed,
    so the workers see them), then one transaction that replaces the views."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    # A session lock: it must outlive the staging transactions. The serial path's transaction
    # lock on the same key excludes it, and the other way round.
    conn.execute(_LOCK.replace("_xact", ""))
    conn.commit()
    try:
        with conn.transaction():
            _sync_registry(conn, registry)
            _make_scope(conn, scope, STAGE_SCOPE)
            where = _scope_sql(scope, STAGE_SCOPE)
            conn.execute(f"DROP TABLE IF EXISTS {STAGE_TRIPS}")
            conn.execute(
                f"CREATE UNLOGGED TABLE {STAGE_TRIPS} AS {_pass_select(params, where)} "
                "WITH NO DATA".encode()
            )
            estimate = _estimated_readings(conn) if scope.everything else 0.0
        per_worker = max(1, math.ceil(estimate / (workers * ROWS_PER_SLICE)))
        slices = workers * per_worker
        step(f"registry copied, scope chosen; {slices} slices on {workers} connections")
        url = _conninfo(conn)

        def run_slice(k: int) -> int:
            with psycopg.connect(url, autocommit=True) as worker:
                worker.execute(f"SET work_mem = '{WORK_MEM}'")
                worker.execute("SET jit = off")
                where_k = f"{where} AND {_slice_sql(k, slices)}"
                done = worker.execute(
                    f"INSERT INTO {STAGE_TRIPS} {_pass_select(params, where_k)}".encode()
                )
                return done.rowcount

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for k, trips in enumerate(pool.map(run_slice, range(slices))):
                step(f"pass over the readings, slice {k + 1}/{slices}: {trips:,} trips")
        with conn.transaction():
            conn.execute(f"ANALYZE {STAGE_TRIPS}")
            result = _write_views(
                conn, scope, params, STAGE_TRIPS, STAGE_SCOPE, step, started_at, began
            )
        step(f"committed: {result.trips:,} trips")
        with conn.transaction():
            conn.execute(f"TRUNCATE {STAGE_TRIPS}, {STAGE_SCOPE}")
        return result
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(hashtext('logistream.batch'))")
        conn.commit()
