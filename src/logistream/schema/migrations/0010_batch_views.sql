-- Batch views (issue 6): tables recomputed from the raw archive by `logistream batch`, read by
-- the dashboard and the reports. Each run replaces the rows of the trips it covers inside one
-- transaction, so a reader sees the old or the new figures, never a mix, and running it twice
-- changes nothing. Times are event time; durations in seconds.

-- Copies of the registry (cargo profiles, fleet, routes), refreshed by every batch run, so that
-- set-based SQL can join the limits each reading is judged by.
CREATE TABLE batch_cargo_profiles (
    name                     text             PRIMARY KEY,
    label                    text             NOT NULL,
    low_c                    double precision NOT NULL,
    high_c                   double precision NOT NULL,
    hard_low_c               double precision,
    hard_high_c              double precision,
    alarm_delay_high_s       double precision NOT NULL,
    alarm_delay_low_s        double precision NOT NULL,
    hysteresis_c             double precision NOT NULL,
    tor_budget_s             double precision NOT NULL,
    defrost_allowance_c      double precision NOT NULL,
    defrost_max_s            double precision NOT NULL,
    mkt_enabled              boolean          NOT NULL,
    activation_energy_kj_mol double precision NOT NULL
);

CREATE TABLE batch_trucks (
    truck_id    text             PRIMARY KEY,
    driver_id   text             NOT NULL,
    route       text             NOT NULL,
    cargo       text             NOT NULL,
    tank_litres double precision NOT NULL
);

CREATE TABLE batch_routes (
    name        text PRIMARY KEY,
    label       text NOT NULL,
    origin      text NOT NULL,
    destination text NOT NULL
);

-- Great-circle distance (km), the same formula as logistream.geo.haversine_km; inlined.
CREATE FUNCTION batch_haversine_km(lat1 double precision, lon1 double precision,
                                   lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * 6371.0088 * asin(least(1.0, sqrt(
        sin(radians(lat2 - lat1) / 2) ^ 2
        + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ^ 2)))
$$;

-- The few readings of a trip that the small groupings need (excursion, fuel-event and gap
-- rows), gathered per trip in the one pass over the readings instead of a second pass.
CREATE TYPE batch_marked_row AS (
    ts          double precision,
    next_ts     double precision,
    temp        double precision,
    lat         double precision,
    lon         double precision,
    w           double precision,
    above       boolean,
    below       boolean,
    beyond_hard boolean,
    high_eff    double precision,
    st_high     boolean,
    st_low      boolean,
    st_crit     boolean,
    exc_high_no bigint,
    exc_low_no  bigint,
    exc_crit_no bigint,
    refuel_zone boolean,
    theft_zone  boolean,
    refuel_no   bigint,
    theft_no    bigint,
    d_l         double precision,
    unexplained double precision
);

-- Trips: per truck and trip. Readings without a trip_id are grouped per truck and UTC day
-- (trip_id = '<truck>@<YYYY-MM-DD>', trip_id_sent = false).
CREATE TABLE trips (
    truck_id       text             NOT NULL,
    trip_id        text             NOT NULL,
    trip_id_sent   boolean          NOT NULL,
    driver_id      text,
    cargo          text             NOT NULL,  -- the cargo profile applied
    route          text,                       -- from the fleet registry
    start_time     timestamptz      NOT NULL,
    end_time       timestamptz      NOT NULL,
    duration_s     double precision NOT NULL,
    start_lat      double precision,
    start_lon      double precision,
    end_lat        double precision,
    end_lon        double precision,
    distance_km    double precision NOT NULL,  -- sum of GPS steps
    readings       bigint           NOT NULL,
    gap_count      integer          NOT NULL,  -- silences longer than the gap threshold
    gap_s          double precision NOT NULL,  -- their total length
    longest_gap_s  double precision NOT NULL,
    PRIMARY KEY (truck_id, trip_id)
);
CREATE INDEX trips_start ON trips (start_time);
CREATE INDEX trips_trip_id ON trips (trip_id);

-- Data gaps (sensor offline periods) of each trip.
CREATE TABLE trip_gaps (
    truck_id  text             NOT NULL,
    trip_id   text             NOT NULL,
    gap_start timestamptz      NOT NULL,
    gap_end   timestamptz      NOT NULL,
    gap_s     double precision NOT NULL,
    PRIMARY KEY (truck_id, trip_id, gap_start)
);

CREATE TABLE trip_compliance (
    truck_id                 text             NOT NULL,
    trip_id                  text             NOT NULL,
    cargo                    text             NOT NULL,
    readings                 bigint           NOT NULL,
    min_c                    double precision NOT NULL,
    max_c                    double precision NOT NULL,
    mean_c                   double precision,  -- time-weighted
    above_s                  double precision NOT NULL,
    below_s                  double precision NOT NULL,
    tor_s                    double precision NOT NULL,
    tor_budget_s             double precision NOT NULL,
    defrost_s                double precision NOT NULL,
    covered_s                double precision NOT NULL,  -- time the readings stand for
    gap_s                    double precision NOT NULL,  -- time no reading stands for
    mkt_c                    double precision,           -- NULL: frozen product or no coverage
    activation_energy_kj_mol double precision NOT NULL,
    hard_limit_passed        boolean          NOT NULL,
    excursions               integer          NOT NULL,  -- above or below the range
    tor_alarm_at             timestamptz,                -- when the budget was reached
    verdict                  text             NOT NULL CHECK (verdict IN ('pass', 'review', 'fail')),
    reason                   text             NOT NULL,
    PRIMARY KEY (truck_id, trip_id)
);
CREATE INDEX trip_compliance_verdict ON trip_compliance (verdict);

CREATE TABLE excursions (
    truck_id   text             NOT NULL,
    trip_id    text             NOT NULL,
    kind       text             NOT NULL CHECK (kind IN ('high', 'low', 'critical')),
    start_time timestamptz      NOT NULL,
    end_time   timestamptz      NOT NULL,  -- the reading back inside, or the trip's last
    ongoing    boolean          NOT NULL,  -- still out when the trip's readings end
    duration_s double precision NOT NULL,
    out_s      double precision NOT NULL,  -- time beyond the limit within it
    peak_c     double precision NOT NULL,
    peak_at    timestamptz      NOT NULL,
    alarm_at   timestamptz,                -- when the alarm delay was reached; NULL: too short
    lat        double precision,
    lon        double precision,
    PRIMARY KEY (truck_id, trip_id, kind, start_time)
);

CREATE TABLE fuel_efficiency (
    truck_id       text             NOT NULL,
    trip_id        text             NOT NULL,
    driver_id      text,
    route          text,
    tank_litres    double precision NOT NULL,
    distance_km    double precision NOT NULL,
    start_l        double precision,
    end_l          double precision,
    consumed_l     double precision,
    l_per_100km    double precision,
    refuelled_l    double precision NOT NULL,
    refuels        integer          NOT NULL,
    stolen_l       double precision NOT NULL,
    thefts         integer          NOT NULL,  -- suspected
    reefer_hours   double precision NOT NULL,  -- parked with the reefer on, measured
    reefer_l_per_h double precision,
    PRIMARY KEY (truck_id, trip_id)
);

CREATE TABLE fuel_events (
    truck_id      text             NOT NULL,
    trip_id       text             NOT NULL,
    kind          text             NOT NULL CHECK (kind IN ('refuel', 'theft')),
    start_time    timestamptz      NOT NULL,
    end_time      timestamptz      NOT NULL,
    litres        double precision NOT NULL,  -- added (refuel) or lost (theft)
    unexplained_l double precision NOT NULL,  -- theft: beyond what consumption explains
    lat           double precision,
    lon           double precision,
    PRIMARY KEY (truck_id, trip_id, kind, start_time)
);

CREATE TABLE driver_behaviour (
    driver_id        text,
    truck_id         text             NOT NULL,
    trip_id          text             NOT NULL,
    distance_km      double precision NOT NULL,
    harsh_brakes     integer          NOT NULL,
    harsh_accels     integer          NOT NULL,
    brakes_per_100km double precision NOT NULL,
    accels_per_100km double precision NOT NULL,
    driving_s        double precision NOT NULL,
    speeding_s       double precision NOT NULL,
    idling_s         double precision NOT NULL,
    max_speed_kmh    double precision,
    score            double precision NOT NULL,
    PRIMARY KEY (truck_id, trip_id)
);
CREATE INDEX driver_behaviour_driver ON driver_behaviour (driver_id);

-- Speed layer vs batch layer, temperature rules. status: on_time, late (late_s > tolerance),
-- early (the speed layer alarmed an excursion the batch layer finds shorter than its delay),
-- missed (an alarm was due and no alert came), unmatched_alert (no excursion behind it).
CREATE TABLE reconciliation (
    truck_id        text             NOT NULL,
    trip_id         text,
    rule            text             NOT NULL,
    status          text             NOT NULL
        CHECK (status IN ('on_time', 'late', 'early', 'missed', 'unmatched_alert')),
    excursion_start timestamptz,
    expected_at     timestamptz,
    alert_id        text,
    alert_opened_at timestamptz,
    late_s          double precision,
    UNIQUE NULLS NOT DISTINCT (truck_id, rule, excursion_start, alert_id)
);
CREATE INDEX reconciliation_status ON reconciliation (status);

-- Bookkeeping of runs (kept apart so that the views themselves are identical run to run).
CREATE TABLE batch_runs (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    range_from  timestamptz,
    range_to    timestamptz,
    trips       integer     NOT NULL,
    seconds     double precision NOT NULL
);

-- Roll-ups for the fleet report and the dashboard.
CREATE VIEW fuel_by_truck AS
SELECT truck_id, count(*) AS trips, sum(distance_km) AS distance_km,
       sum(consumed_l) AS consumed_l,
       sum(consumed_l) FILTER (WHERE distance_km >= 1) * 100
           / nullif(sum(distance_km) FILTER (WHERE consumed_l IS NOT NULL AND distance_km >= 1), 0)
           AS l_per_100km,
       sum(refuels) AS refuels, sum(refuelled_l) AS refuelled_l,
       sum(thefts) AS thefts, sum(stolen_l) AS stolen_l,
       sum(reefer_l_per_h * reefer_hours) / nullif(sum(reefer_hours) FILTER (WHERE reefer_l_per_h IS NOT NULL), 0)
           AS reefer_l_per_h
FROM fuel_efficiency GROUP BY truck_id;

CREATE VIEW driver_scorecard AS
SELECT driver_id, count(*) AS trips, sum(distance_km) AS distance_km,
       sum(harsh_brakes) AS harsh_brakes, sum(harsh_accels) AS harsh_accels,
       sum(harsh_brakes) * 100.0 / greatest(sum(distance_km), 10) AS brakes_per_100km,
       sum(harsh_accels) * 100.0 / greatest(sum(distance_km), 10) AS accels_per_100km,
       sum(speeding_s) AS speeding_s, sum(idling_s) AS idling_s, sum(driving_s) AS driving_s,
       sum(score * distance_km) / nullif(sum(distance_km), 0) AS score
FROM driver_behaviour GROUP BY driver_id;

GRANT SELECT ON batch_cargo_profiles, batch_trucks, batch_routes, trips, trip_gaps,
    trip_compliance, excursions, fuel_efficiency, fuel_events, driver_behaviour, reconciliation,
    batch_runs, fuel_by_truck, driver_scorecard TO logistream_reader;
