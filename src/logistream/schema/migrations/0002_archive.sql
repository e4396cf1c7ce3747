-- The master dataset: raw readings, append-only, partitioned by event time (one partition per
-- UTC day). PostgreSQL needs the partition column in the key; event_id fixes the event time,
-- so this is uniqueness by event_id.
CREATE TABLE readings (
    event_id         text             NOT NULL,
    event_time       timestamptz      NOT NULL,
    truck_id         text             NOT NULL,
    temp             double precision NOT NULL,
    fuel             double precision,
    seq              bigint,
    trip_id          text,
    driver_id        text,
    cargo            text,
    lat              double precision,
    lon              double precision,
    speed_kmh        double precision,
    heading_deg      double precision,
    humidity         double precision,
    door_open        boolean,
    reefer_on        boolean,
    defrost          boolean,
    extras           jsonb,            -- fields the contract does not name, kept as sent
    source_partition integer          NOT NULL,
    source_offset    bigint           NOT NULL,
    produced_at      timestamptz,      -- Kafka record timestamp: archive lag = archived_at - this
    archived_at      timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

COMMENT ON TABLE readings IS
    'Every accepted telemetry reading exactly once (append-only; written by logistream bridge).';

-- Time-range scans over an append-mostly table: BRIN is tiny and nearly free to maintain.
CREATE INDEX readings_event_time_brin ON readings USING brin (event_time);
-- One truck's history (trip reconstruction, audits).
CREATE INDEX readings_truck_time ON readings (truck_id, event_time);

-- Creates the partition of one UTC day if missing. SECURITY DEFINER: it runs as the migration
-- role, so the bridge role can get a partition for a late reading without owning DDL rights.
CREATE FUNCTION ensure_reading_partition(day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    part text := format('readings_p%s', to_char(day, 'YYYYMMDD'));
    low timestamptz := day::timestamp AT TIME ZONE 'UTC';
    high timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    -- The decoder refuses event times before 2000 and more than 5 minutes ahead; the range
    -- check keeps a confused caller from littering the schema.
    IF day IS NULL OR day < date '2000-01-01' OR day > current_date + 31 THEN
        RAISE EXCEPTION 'no readings partition for day %: outside 2000-01-01 .. today + 31', day
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(format('public.%I', part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    -- Two bridges may ask for the same day at once: serialise creators on this database.
    PERFORM pg_advisory_xact_lock(hashtext('logistream.ensure_reading_partition'));
    IF to_regclass(format('public.%I', part)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE public.%I PARTITION OF public.readings FOR VALUES FROM (%L) TO (%L)',
            part, low, high);
    END IF;
    RETURN part;
END
$$;

REVOKE ALL ON FUNCTION ensure_reading_partition(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_reading_partition(date) TO logistream_bridge;

-- Ahead of time: yesterday to a week ahead (the bridge keeps this window moving).
SELECT ensure_reading_partition(current_date + d) FROM generate_series(-1, 7) AS d;

-- The original LogiStream view: `SELECT truck_id, AVG(fuel) FROM truck_history GROUP BY
-- truck_id` runs unchanged.
CREATE VIEW truck_history AS
SELECT event_id, truck_id, event_time AS "timestamp", temp, fuel, lat, lon,
       seq, trip_id, driver_id, cargo, speed_kmh, heading_deg, humidity,
       door_open, reefer_on, defrost, extras, event_time
FROM readings;

-- Alert state changes from truck_alerts (opened, acknowledged, resolved), each stored once.
CREATE TABLE alert_changes (
    alert_id         text             NOT NULL,
    state            text             NOT NULL,
    changed_at       timestamptz      NOT NULL,
    truck_id         text             NOT NULL,
    trip_id          text,
    cargo            text,
    rule             text             NOT NULL,
    severity         text             NOT NULL,
    opened_at        timestamptz      NOT NULL,
    value            double precision,
    threshold        double precision,
    lat              double precision,
    lon              double precision,
    message          text             NOT NULL,
    acknowledged_by  text,
    ack_note         text,
    resolved_at      timestamptz,
    payload          jsonb            NOT NULL,  -- the whole message, unknown fields included
    source_partition integer          NOT NULL,
    source_offset    bigint           NOT NULL,
    archived_at      timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, state, changed_at)
);
CREATE INDEX alert_changes_truck_time ON alert_changes (truck_id, changed_at);

-- Every message the bridge refused, with why; the same bytes went to the DLQ topic.
CREATE TABLE rejected_readings (
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    reason           text        NOT NULL,
    detail           text        NOT NULL,
    message_key      bytea,
    raw              bytea       NOT NULL,
    produced_at      timestamptz,
    rejected_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

-- Append-only for the bridge: INSERT, never UPDATE, DELETE or TRUNCATE.
GRANT INSERT ON readings, alert_changes, rejected_readings TO logistream_bridge;
GRANT SELECT ON readings, truck_history, alert_changes, rejected_readings TO logistream_reader;
