"""The one pass over the readings in scope, as SQL: per-trip aggregates plus the marked rows.

A stack of window functions that all share one ordering (truck, trip, probe, event time, event
id), so PostgreSQL sorts once, computes per reading what the pure modules compute (holds, defrost,
hysteresis states, excursion and fuel-event islands, accelerations), and aggregates per trip in
the same stream. The few rows the excursion, fuel event and gap tables need are gathered per
trip as arrays (``marked``); :mod:`view_sql` turns them into the view tables. Nothing is looped
over in Python. ``tune_for_pass`` sets what such a pass runs best with (a large ``work_mem``, no
JIT: it spends seconds compiling this many expressions).

Several probes per truck: the partition is (truck, trip, probe), ``probe_id`` '' standing for
the single probe of readings that name none, so each probe's cargo air has its own timeline,
holds, hysteresis and totals, and the pass gives one row per probe of a trip. Every probe's
readings carry the truck's GPS, speed and fuel at the same event times, so one probe's row
(``vehicle``: the one with the most readings) holds the trip's vehicle figures, each event time
counted once; the trip-wide ``trip_readings``, ``trip_start`` and ``trip_end`` span all probes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from logistream.coldchain.params import BatchParams
from logistream.schema.trip_key import TRIP_EXPR

if TYPE_CHECKING:
    import psycopg

PER_TRIP_TABLE = "batch_trip_pass"
"""The serial run's pass: a temporary table, dropped at the end of the run's transaction."""
WORK_MEM = "512MB"
"""One sort of a slice in memory is much faster than spilling it in pieces."""


def tune_for_pass(conn: psycopg.Connection[Any], *, local: bool) -> None:
    """Session settings for the pass (``local``: for the current transaction only)."""
    command = "SET LOCAL" if local else "SET"
    conn.execute(f"{command} work_mem = '{WORK_MEM}'")
    # Compiling this many expressions costs seconds and gains less than it costs.
    conn.execute(f"{command} jit = off")


def pass_sql(p: BatchParams, where: str) -> str:
    """The one pass into a temporary table (the serial path, inside the run's transaction)."""
    return f"CREATE TEMP TABLE {PER_TRIP_TABLE} ON COMMIT DROP AS\n" + pass_select(p, where)


_LATE_COLUMNS = (
    "truck_id, trip_id, probe_id, event_id, event_time, trip_sent, driver_id, profile, tank, "
    "budget, h_over_r, rn, ts, next_ts, dt, temp, raw_temp, plausible, lat, lon, speed_kmh, "
    "reefer_on, defrost, fuel_smooth, w, uncovered, seg_km, d_l, unexplained, high_eff, "
    "beyond_hard, above, below, brake, launch, cls_crit"
)
"""The per-reading columns the steps after the classification (l5 onwards) still need."""


def pass_select(p: BatchParams, where: str) -> str:
    """The one pass over the readings: per-trip aggregates plus the marked rows."""
    hold, gap, smooth = p.hold_max_s, p.gap_s, p.fuel_smooth_s
    # A reading that confirms the end of a critical: the confirm count of plausible readings
    # back inside since the last reading beyond the limit, the clear time since that one.
    crit_end = (
        f"(cls_crit = 0 AND plausible AND crit_back_all - crit_back_before >= "
        f"{p.critical_confirm_readings} AND ts - crit_last_ts >= {p.critical_clear_s})"
    )
    return f"""
WITH src AS (
    SELECT r.truck_id, {TRIP_EXPR} AS trip_id, coalesce(r.probe_id, '') AS probe_id,
           r.trip_id IS NOT NULL AS trip_sent,
           r.event_id, r.event_time, extract(epoch FROM r.event_time)::float8 AS ts,
           r.temp AS raw_temp, r.fuel, r.driver_id, r.lat, r.lon, r.speed_kmh,
           coalesce(r.defrost, false) AS defrost, r.reefer_on, r.door_open,
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
           coalesce(p.sensor_min_c, d.sensor_min_c) AS sensor_min_c,
           coalesce(p.sensor_max_c, d.sensor_max_c) AS sensor_max_c,
           coalesce(p.max_rate_c_per_min, d.max_rate_c_per_min) AS max_rate,
           coalesce(p.max_rate_door_c_per_min, d.max_rate_door_c_per_min) AS max_rate_door,
           coalesce(p.rate_slack_c, d.rate_slack_c) AS rate_slack,
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
           avg(fuel) OVER wr AS fuel_smooth,
           -- Sensor plausibility against the last plausible reading (running, in order).
           batch_plausibility(ts, raw_temp, door_open, sensor_min_c, sensor_max_c, max_rate,
                              max_rate_door, rate_slack) OVER w AS plaus
    FROM src s
    WINDOW w AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time, event_id),
           wr AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time
                  RANGE BETWEEN interval '{smooth} seconds' PRECEDING AND CURRENT ROW)
),
l2 AS (
    SELECT l1.*,
           -- The temperature the rules see: an implausible reading stands for the air as last
           -- seen (NULL before the trip's first plausible reading).
           plaus[2] AS temp,
           plaus[3] = 1 AS plausible,
           least(coalesce(next_ts - ts, 0), {hold}) AS w,
           greatest(coalesce(next_ts - ts, 0) - {hold}, 0) AS uncovered,
           ts - prev_ts AS dt,
           CASE WHEN prev_lat IS NOT NULL AND prev_lon IS NOT NULL AND lat IS NOT NULL
                     AND lon IS NOT NULL
                THEN batch_haversine_km(prev_lat, prev_lon, lat, lon) ELSE 0 END AS gps_km,
           CASE WHEN prev_speed IS NOT NULL AND speed_kmh IS NOT NULL AND ts - prev_ts > 0
                     AND ts - prev_ts <= {p.accel_max_gap_s}
                THEN (speed_kmh - prev_speed) / 3.6 / (ts - prev_ts) END AS accel,
           max(CASE WHEN defrost AND prev_defrost IS DISTINCT FROM true THEN ts END)
               OVER w AS defrost_since,
           lag(fuel_smooth) OVER w AS prev_smooth
    FROM l1
    WINDOW w AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time, event_id)
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
        -- Distance driven: a jump no truck can drive counts none (fuel.step_km).
        SELECT CASE WHEN gps_km <= {p.max_step_kmh} * greatest(coalesce(dt, 0), 0) / 3600.0
                                   + {p.gps_slack_km}
                    THEN gps_km ELSE 0 END AS seg_km,
               high_c + CASE WHEN defrost AND ts - defrost_since <= defrost_max_s
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
           -- A critical's end is confirmed as its start (speed/rules/temperature.py): the
           -- plausible readings back inside so far, and the last reading beyond a hard limit.
           count(*) FILTER (WHERE cls_crit = 0 AND plausible) OVER w AS crit_back_all,
           max(CASE WHEN cls_crit = 1 THEN ts END) OVER w AS crit_last_ts,
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
    WINDOW w AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time, event_id),
           wn AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time
                  RANGE BETWEEN interval '{smooth} seconds' PRECEDING
                            AND interval '{smooth} seconds' FOLLOWING),
           wm AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time
                  RANGE BETWEEN interval '{p.event_merge_s} seconds' PRECEDING
                            AND interval '{p.event_merge_s} seconds' FOLLOWING),
           wp AS (PARTITION BY truck_id, trip_id, probe_id)
),
l6 AS (
    SELECT l5.*,
           st_high AND NOT coalesce(lag(st_high) OVER w, false) AS high_starts,
           st_low AND NOT coalesce(lag(st_low) OVER w, false) AS low_starts,
           -- The readings back inside counted up to the last one beyond a hard limit.
           max(CASE WHEN cls_crit = 1 THEN crit_back_all END) OVER w AS crit_back_before,
           refuel_zone AND NOT coalesce(lag(refuel_zone) OVER w, false) AS refuel_starts,
           theft_zone AND NOT coalesce(lag(theft_zone) OVER w, false) AS theft_starts
    FROM l5
    WINDOW w AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time, event_id)
),
l7 AS (
    SELECT l6.*,
           sum(high_starts::int) OVER w AS exc_high_no,
           sum(low_starts::int) OVER w AS exc_low_no,
           coalesce((max(CASE WHEN cls_crit = 1 THEN rn * 2 + 1
                              WHEN {crit_end} THEN rn * 2 END) OVER w) % 2 = 1,
                    false) AS st_crit,
           -- A critical excursion's number: the reading that confirmed the end of the one
           -- before (0: none), constant over the excursion, which no such reading interrupts.
           coalesce(max(CASE WHEN {crit_end} THEN rn END) OVER w, 0) AS exc_crit_no,
           sum(refuel_starts::int) OVER w AS refuel_no,
           sum(theft_starts::int) OVER w AS theft_no,
           -- Consecutive implausible readings share a number: a sensor-fault interval.
           sum(plausible::int) OVER w AS fault_no
    FROM l6
    WINDOW w AS (PARTITION BY truck_id, trip_id, probe_id ORDER BY event_time, event_id)
)
SELECT truck_id, trip_id, probe_id,
       -- The trip's vehicle figures come from one probe's readings (each event time once):
       -- the probe with the most readings, the first by name on a tie.
       row_number() OVER (PARTITION BY truck_id, trip_id ORDER BY count(*) DESC, probe_id) = 1
           AS vehicle,
       count(*) OVER (PARTITION BY truck_id, trip_id) AS probes,
       sum(count(*)) OVER (PARTITION BY truck_id, trip_id) AS trip_readings,
       min(min(event_time)) OVER (PARTITION BY truck_id, trip_id) AS trip_start,
       max(max(event_time)) OVER (PARTITION BY truck_id, trip_id) AS trip_end,
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
       coalesce(min(temp), min(raw_temp)) AS min_c, coalesce(max(temp), max(raw_temp)) AS max_c,
       sum(temp * w) / nullif(sum(w) FILTER (WHERE temp IS NOT NULL), 0) AS mean_c,
       coalesce(sum(w) FILTER (WHERE temp IS NOT NULL), 0) AS temp_covered_s,
       count(*) FILTER (WHERE NOT plausible) AS implausible,
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
                     refuel_zone, theft_zone, refuel_no, theft_no, d_l, unexplained, plausible,
                     raw_temp, fault_no
                 )::batch_marked_row)
           FILTER (WHERE st_high OR st_low OR st_crit OR refuel_zone OR theft_zone
                         OR next_ts - ts > {gap} OR NOT plausible) AS marked
FROM (
    SELECT l7.*,
           min(CASE WHEN fuel_smooth IS NOT NULL THEN rn END)
               OVER (PARTITION BY truck_id, trip_id, probe_id) AS first_fuel_rn,
           max(CASE WHEN fuel_smooth IS NOT NULL THEN rn END)
               OVER (PARTITION BY truck_id, trip_id, probe_id) AS last_fuel_rn,
           speed_kmh <= {p.parked_kmh} AND reefer_on AND d_l IS NOT NULL AND dt > 0
               AND NOT near_event AS reefer_ok
    FROM l7
) x
GROUP BY truck_id, trip_id, probe_id
"""
