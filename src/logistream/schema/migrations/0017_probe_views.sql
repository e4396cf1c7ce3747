-- Several probes per truck in the batch views (issue 16): the cargo air is judged per probe.
-- Every temperature figure (holds, plausibility, hysteresis, excursions, time out of range,
-- MKT, mean, gaps) is computed per (truck, trip, probe); the vehicle figures (distance, fuel,
-- driving) count each event time once. probe_id '' is the truck's single probe (readings
-- without one), so the keys below stay NOT NULL.

-- Excursions and sensor faults belong to the probe that read them.
ALTER TABLE excursions ADD COLUMN probe_id text NOT NULL DEFAULT '';
ALTER TABLE excursions DROP CONSTRAINT excursions_pkey;
ALTER TABLE excursions ADD PRIMARY KEY (truck_id, trip_id, probe_id, kind, start_time);

ALTER TABLE sensor_faults ADD COLUMN probe_id text NOT NULL DEFAULT '';
ALTER TABLE sensor_faults DROP CONSTRAINT sensor_faults_pkey;
ALTER TABLE sensor_faults ADD PRIMARY KEY (truck_id, trip_id, probe_id, start_time);

-- One row per probe of a trip whose readings name a probe; trip_compliance keeps one row per
-- trip: the worst of its probes (its figures and verdict, the reason naming that probe).
CREATE TABLE probe_compliance (
    truck_id                 text             NOT NULL,
    trip_id                  text             NOT NULL,
    cargo                    text             NOT NULL,
    readings                 bigint           NOT NULL,
    min_c                    double precision NOT NULL,
    max_c                    double precision NOT NULL,
    mean_c                   double precision,
    above_s                  double precision NOT NULL,
    below_s                  double precision NOT NULL,
    tor_s                    double precision NOT NULL,
    tor_budget_s             double precision NOT NULL,
    defrost_s                double precision NOT NULL,
    covered_s                double precision NOT NULL,
    gap_s                    double precision NOT NULL,
    mkt_c                    double precision,
    activation_energy_kj_mol double precision NOT NULL,
    hard_limit_passed        boolean          NOT NULL,
    excursions               integer          NOT NULL,
    tor_alarm_at             timestamptz,
    verdict                  text             NOT NULL CHECK (verdict IN ('pass', 'review', 'fail')),
    reason                   text             NOT NULL,
    probe_id                 text             NOT NULL,  -- '': readings without a probe
    PRIMARY KEY (truck_id, trip_id, probe_id)
);

-- An expected alarm of probe P is matched with the alert of its rule raised for probe P
-- (alert_changes.probe_id; NULL there is '' here). Two probes may go out at the same moment,
-- so the probe is part of what makes a row unique.
ALTER TABLE reconciliation ADD COLUMN probe_id text NOT NULL DEFAULT '';
ALTER TABLE reconciliation
    DROP CONSTRAINT reconciliation_truck_id_rule_excursion_start_alert_id_key;
ALTER TABLE reconciliation
    ADD UNIQUE NULLS NOT DISTINCT (truck_id, rule, probe_id, excursion_start, alert_id);

GRANT SELECT ON probe_compliance TO logistream_reader;
