"""From the per-trip pass to the view tables, as SQL, and the speed-vs-batch reconciliation.

The pass (:mod:`pass_sql`) gives one row per trip with its marked readings as an array; each
statement here fills one view table from it (unnesting the marked rows where it needs them),
in an order where each reads only what was written before it. The reconciliation then matches
the temperature excursions and spent budgets the views found with the alerts the speed layer
raised (``alert_changes``).

Per probe: the pass gives one row per probe of a trip. The cargo-air tables (sensor faults,
excursions, ``probe_compliance``) get a row per probe; ``trip_compliance`` keeps one row per
trip, its worst probe's (the reason names that probe when the readings name probes); the
vehicle tables (trips, gaps, fuel, driving) are written from the ``vehicle`` probe's row alone,
so each event time counts once. An expected alarm of probe P matches an alert of its rule for
probe P (an alert without a probe is the single probe's, '').

Operating modes (issue 18): the speed layer holds a truck's temperature alarms while a mode is in
force and records each held rule as a ``suppressed`` alert change. Such a change is neither a
matched nor an unmatched alert: the reconciliation leaves it out. An expected alarm whose
reference time lies inside a mode interval of its truck (``reads.modes``: in force, from
``starts_at`` to ``min(ends_at, ended_at)``) is graded ``held_by_mode`` (migration 0018): for an
excursion its start, for a spent budget the moment it was spent. Chosen where the issue is silent:
an excursion that starts inside a mode and outlasts it is ``held_by_mode`` too, with the alert
that opened after the mode (the speed layer starts the air state fresh then) kept as its pair,
not graded late against an alarm time the mode voided.

The trip compliance figures and operating modes (chosen where the issue is silent): the time out
of range inside a mode is KEPT in the figures (``tor_s``, the excursions, the budget and the
verdict) and stated apart as ``mode_tor_s`` (migration 0019: the out-of-range time of readings
inside a mode of the truck in force), with a clause of the reason that says how much of the
time out of range was inside operating modes. Why keep it: the figures say what the cargo air
went through, from the archive, and a mode is an operator's decision about alarms, not about
the product; a mode approved on a loaded truck (the second person's approval) is exactly when
the cargo is at risk, and the archive cannot tell an empty truck's washout from a loaded one's.
A reader of the report sees both numbers and the modes section (``batch/reports/modes.py``)
lists the interval, who set and approved it, and the alarms held in it.
"""

from __future__ import annotations

from logistream.batch.views.pass_sql import PER_TRIP_TABLE
from logistream.coldchain.params import BatchParams
from logistream.reads.modes import IN_FORCE_SQL, INTERVAL_END_SQL

VIEW_TABLES = (
    "trips",
    "trip_gaps",
    "sensor_faults",
    "trip_compliance",
    "probe_compliance",
    "excursions",
    "fuel_efficiency",
    "fuel_events",
    "driver_behaviour",
)
"""The tables of per-trip views, replaced per trip in scope (reconciliation: replaced whole)."""


PROBE_LABEL_SQL = "CASE WHEN probe_id = '' THEN 'unnamed probe' ELSE probe_id || ' probe' END"
"""How a reason names its probe (:func:`logistream.batch.views.probes.probe_label`)."""
WORST_FIRST_SQL = (
    "CASE verdict WHEN 'fail' THEN 0 WHEN 'review' THEN 1 ELSE 2 END, "
    "hard_limit_passed DESC, tor_s DESC, excursions DESC, mkt_c DESC NULLS LAST, probe_id"
)
"""Which probe decides a trip's verdict (:func:`logistream.batch.views.probes.worst_probe`)."""
_COMPLIANCE_COLUMNS = (
    "truck_id, trip_id, cargo, readings, min_c, max_c, mean_c, above_s, below_s, tor_s, "
    "tor_budget_s, defrost_s, covered_s, gap_s, mkt_c, activation_energy_kj_mol, "
    "hard_limit_passed, excursions, tor_alarm_at, verdict"
)
"""The columns of ``trip_compliance`` before ``reason`` (``probe_compliance`` adds ``probe_id``)."""
_PROBE_COMPLIANCE = (
    """
SELECT tp.truck_id, tp.trip_id, tp.probe_id, tp.probes, tp.profile AS cargo, tp.readings,
       tp.min_c, tp.max_c, tp.mean_c, tp.above_s, tp.below_s, tp.above_s + tp.below_s AS tor_s,
       c.tor_budget_s, tp.defrost_s, tp.covered_s, tp.uncovered_s AS gap_s, v.mkt_c,
       c.activation_energy_kj_mol, tp.hard_limit_passed, v.excursions,
       to_timestamp(tp.tor_alarm_ts) AS tor_alarm_at,
       CASE WHEN tp.hard_limit_passed THEN 'fail'
            WHEN c.tor_budget_s > 0 AND tp.above_s + tp.below_s >= c.tor_budget_s THEN 'fail'
            WHEN v.excursions > 0 OR tp.above_s + tp.below_s > 0 THEN 'review'
            WHEN v.mkt_c > c.high_c THEN 'review'
            WHEN c.tor_budget_s > 0 AND tp.uncovered_s >= c.tor_budget_s THEN 'review'
            ELSE 'pass' END AS verdict,
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
       || CASE WHEN v.mode_tor_s > 0
               THEN format('; %s min of the time out of range was inside operating modes '
                           '(alarms held), counted all the same',
                           round((v.mode_tor_s / 60)::numeric, 1))
               ELSE '' END AS reason,
       v.mode_tor_s
FROM batch_trip_pass tp
JOIN batch_cargo_profiles c ON c.name = tp.profile
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.mkt_enabled AND tp.temp_covered_s > 0
                THEN (c.activation_energy_kj_mol * 1000.0 / 8.3144)
                     / -ln(tp.arrhenius_sum / tp.temp_covered_s) - 273.15 END AS mkt_c,
           (SELECT count(*) FROM excursions e
            WHERE e.truck_id = tp.truck_id AND e.trip_id = tp.trip_id
              AND e.probe_id = tp.probe_id AND e.kind <> 'critical')::int AS excursions,
           (SELECT coalesce(sum(mr.w), 0) FROM unnest(tp.marked) mr
            WHERE (mr.above OR mr.below) AND EXISTS (
                SELECT FROM truck_modes md
                WHERE md.truck_id = tp.truck_id AND """
    + IN_FORCE_SQL
    + """
                  AND md.starts_at <= to_timestamp(mr.ts)
                  AND to_timestamp(mr.ts) < """
    + INTERVAL_END_SQL
    + """))::float8 AS mode_tor_s
) v
"""
)
"""Each probe's compliance, from its row of the pass (after its excursions were written)."""


def write_sql(p: BatchParams, per_trip: str = PER_TRIP_TABLE) -> list[tuple[str, str]]:
    """From the per-trip pass to the view tables (the trips in scope were deleted first):
    (view, statement) pairs, in an order where each reads only what was written before it."""
    marked = (
        "SELECT tp.truck_id, tp.trip_id, tp.probe_id, tp.vehicle, tp.profile, "
        f"(unnest(tp.marked)).* FROM {per_trip} tp"
    )
    statements = [
        """
INSERT INTO trips
SELECT tp.truck_id, tp.trip_id, tp.trip_sent, tp.driver_id, tp.profile, bt.route,
       tp.trip_start, tp.trip_end, extract(epoch FROM tp.trip_end - tp.trip_start)::float8,
       tp.start_lat, tp.start_lon, tp.end_lat, tp.end_lon, tp.distance_km, tp.trip_readings,
       tp.gap_count, tp.gap_total_s, tp.longest_gap_s
FROM batch_trip_pass tp LEFT JOIN batch_trucks bt ON bt.truck_id = tp.truck_id
WHERE tp.vehicle
""",
        f"""
INSERT INTO trip_gaps
SELECT truck_id, trip_id, to_timestamp(ts), to_timestamp(next_ts), next_ts - ts
FROM ({marked}) m WHERE vehicle AND next_ts - ts > {p.gap_s}
""",
        f"""
INSERT INTO sensor_faults
SELECT truck_id, trip_id, to_timestamp(min(ts)),
       to_timestamp(CASE WHEN bool_or(next_ts IS NULL) THEN max(ts) ELSE max(next_ts) END),
       bool_or(next_ts IS NULL), count(*)::int, min(raw_temp), max(raw_temp), max(temp),
       probe_id
FROM ({marked}) m WHERE NOT plausible GROUP BY truck_id, trip_id, probe_id, fault_no
""",
        f"""
INSERT INTO excursions
WITH m AS ({marked}),
ex AS (
    SELECT m.truck_id, m.trip_id, m.probe_id, 'high' AS kind, exc_high_no AS no, ts, next_ts,
           temp, lat, lon, w, above AS beyond, temp - high_eff AS violation,
           c.alarm_delay_high_s AS delay, true AS counts, 0 AS need
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_high
    UNION ALL
    SELECT m.truck_id, m.trip_id, m.probe_id, 'low', exc_low_no, ts, next_ts, temp, lat, lon,
           w, below, c.low_c - temp, c.alarm_delay_low_s, true, 0
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_low
    UNION ALL
    -- A critical is confirmed by plausible readings beyond the hard limit only.
    SELECT m.truck_id, m.trip_id, m.probe_id, 'critical', exc_crit_no, ts, next_ts, temp, lat, lon,
           w, beyond_hard,
           greatest(coalesce(temp - c.hard_high_c, '-infinity'),
                    coalesce(c.hard_low_c - temp, '-infinity')), {p.critical_confirm_s},
           coalesce(plausible, true), {p.critical_confirm_readings}
    FROM m JOIN batch_cargo_profiles c ON c.name = m.profile WHERE st_crit
),
g AS (
    SELECT ex.*, min(ts) OVER (PARTITION BY truck_id, trip_id, probe_id, kind, no) AS start_ts,
           count(*) FILTER (WHERE beyond AND counts)
               OVER (PARTITION BY truck_id, trip_id, probe_id, kind, no ORDER BY ts
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS counted
    FROM ex
)
SELECT truck_id, trip_id, kind, to_timestamp(min(ts)),
       to_timestamp(coalesce(max(next_ts), max(ts))), bool_or(next_ts IS NULL),
       coalesce(max(next_ts), max(ts)) - min(ts),
       coalesce(sum(w) FILTER (WHERE beyond), 0),
       (array_agg(temp ORDER BY violation DESC, ts) FILTER (WHERE beyond))[1],
       to_timestamp((array_agg(ts ORDER BY violation DESC, ts) FILTER (WHERE beyond))[1]),
       to_timestamp(min(ts) FILTER (WHERE beyond AND counts AND counted >= need
                                      AND ts - start_ts >= delay)),
       (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1], probe_id
FROM g GROUP BY truck_id, trip_id, probe_id, kind, no
""",
        f"""
INSERT INTO probe_compliance
SELECT {_COMPLIANCE_COLUMNS}, reason, probe_id, mode_tor_s
FROM ({_PROBE_COMPLIANCE}) pc
WHERE probes > 1 OR probe_id <> ''
""",
        f"""
INSERT INTO trip_compliance
SELECT DISTINCT ON (truck_id, trip_id) {_COMPLIANCE_COLUMNS},
       CASE WHEN probes > 1 OR probe_id <> ''
            THEN {PROBE_LABEL_SQL} || ': ' || reason ELSE reason END,
       mode_tor_s
FROM ({_PROBE_COMPLIANCE}) pc
ORDER BY truck_id, trip_id, {WORST_FIRST_SQL}
""",
        f"""
INSERT INTO fuel_events
WITH m AS ({marked})
SELECT truck_id, trip_id, 'refuel', to_timestamp(min(ts)), to_timestamp(max(ts)), sum(d_l), 0,
       (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1]
FROM m WHERE vehicle AND refuel_zone GROUP BY truck_id, trip_id, refuel_no
HAVING sum(d_l) >= {p.refuel_min_l}
UNION ALL
SELECT truck_id, trip_id, 'theft', to_timestamp(min(ts)), to_timestamp(max(ts)), -sum(d_l),
       sum(unexplained), (array_agg(lat ORDER BY ts))[1], (array_agg(lon ORDER BY ts))[1]
FROM m WHERE vehicle AND theft_zone GROUP BY truck_id, trip_id, theft_no
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
WHERE tp.vehicle
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
WHERE tp.vehicle
""",
    ]
    views = (
        "trips",
        "trip_gaps",
        "sensor_faults",
        "excursions",
        "probe_compliance",
        "trip_compliance",
        "fuel_events",
        "fuel_efficiency",
        "driver_behaviour",
    )
    return [
        # The statements name the serial run's pass table; a staged run reads its own.
        (view, statement.replace("batch_trip_pass", per_trip))
        for view, statement in zip(views, statements, strict=True)
    ]


def reconcile_sql(p: BatchParams) -> str:
    """Each expected alarm (excursion or spent budget) paired with the speed layer's alert for
    it, graded missed, early, late or on time (held_by_mode inside an operating mode); plus the
    alerts that match nothing (held alarms, ``suppressed``, are no alerts)."""
    tol = p.alert_tolerance_s
    return f"""
INSERT INTO reconciliation
WITH expected AS (
    SELECT truck_id, trip_id, probe_id,
           CASE kind WHEN 'high' THEN 'temp_high' WHEN 'low' THEN 'temp_low'
                     ELSE 'temp_critical' END AS rule,
           start_time AS exc_start, end_time AS exc_end, alarm_at
    FROM excursions
    UNION ALL
    -- The budget is spent per probe: a trip of named probes has its rows in probe_compliance.
    SELECT c.truck_id, c.trip_id, c.probe_id, 'tor_budget', t.start_time, t.end_time,
           c.tor_alarm_at
    FROM (SELECT truck_id, trip_id, probe_id, tor_alarm_at FROM probe_compliance
          UNION ALL
          SELECT truck_id, trip_id, '', tor_alarm_at FROM trip_compliance tc
          WHERE NOT EXISTS (SELECT FROM probe_compliance pc
                            WHERE pc.truck_id = tc.truck_id AND pc.trip_id = tc.trip_id)) c
    JOIN trips t USING (truck_id, trip_id)
    WHERE c.tor_alarm_at IS NOT NULL
),
alerts AS (
    SELECT alert_id, truck_id, max(trip_id) AS trip_id, rule,
           coalesce(max(probe_id), '') AS probe_id, min(opened_at) AS opened_at,
           min(coalesce(resolved_at, changed_at)) FILTER (WHERE state = 'resolved')
               AS resolved_at
    FROM alert_changes
    -- A held alarm (suppressed, its own alert id) is no alert: neither matched nor unmatched.
    WHERE rule IN ('temp_high', 'temp_low', 'temp_critical', 'tor_budget')
      AND state <> 'suppressed'
    GROUP BY alert_id, truck_id, rule
),
held AS (
    SELECT x.truck_id, x.rule, x.probe_id, x.exc_start
    FROM expected x
    WHERE EXISTS (
        SELECT FROM truck_modes m
        WHERE m.truck_id = x.truck_id AND {IN_FORCE_SQL}
          AND m.starts_at <= CASE WHEN x.rule = 'tor_budget' THEN x.alarm_at ELSE x.exc_start END
          AND {INTERVAL_END_SQL}
              > CASE WHEN x.rule = 'tor_budget' THEN x.alarm_at ELSE x.exc_start END)
),
pairs AS (
    SELECT x.*, a.alert_id, a.opened_at,
           row_number() OVER (PARTITION BY x.truck_id, x.rule, x.probe_id, x.exc_start
                              ORDER BY a.opened_at, a.alert_id) AS k
    FROM expected x
    JOIN alerts a ON a.truck_id = x.truck_id AND a.rule = x.rule AND a.probe_id = x.probe_id
     AND a.opened_at <= x.exc_end + interval '{tol} seconds'
     AND coalesce(a.resolved_at, 'infinity') >= x.exc_start - interval '{tol} seconds'
     AND (x.rule <> 'tor_budget' OR a.trip_id IS NULL OR a.trip_id = x.trip_id)
)
SELECT x.truck_id, x.trip_id, x.rule,
       CASE WHEN h.exc_start IS NOT NULL THEN 'held_by_mode'
            WHEN p.alert_id IS NULL THEN 'missed'
            WHEN x.alarm_at IS NULL THEN 'early'
            WHEN extract(epoch FROM p.opened_at - x.alarm_at) > {tol} THEN 'late'
            ELSE 'on_time' END,
       x.exc_start, x.alarm_at, p.alert_id, p.opened_at,
       CASE WHEN h.exc_start IS NULL AND p.alert_id IS NOT NULL AND x.alarm_at IS NOT NULL
            THEN greatest(0, extract(epoch FROM p.opened_at - x.alarm_at))::float8 END,
       x.probe_id
FROM expected x
LEFT JOIN pairs p ON p.truck_id = x.truck_id AND p.rule = x.rule AND p.exc_start = x.exc_start
                 AND p.probe_id = x.probe_id AND p.k = 1
LEFT JOIN held h ON h.truck_id = x.truck_id AND h.rule = x.rule AND h.probe_id = x.probe_id
                AND h.exc_start = x.exc_start
WHERE p.alert_id IS NOT NULL OR x.alarm_at IS NOT NULL
UNION ALL
SELECT a.truck_id, a.trip_id, a.rule, 'unmatched_alert', NULL, NULL, a.alert_id, a.opened_at,
       NULL, a.probe_id
FROM alerts a
WHERE NOT EXISTS (SELECT FROM pairs p WHERE p.alert_id = a.alert_id)
"""
