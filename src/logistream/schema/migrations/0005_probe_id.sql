-- Several temperature probes per truck: each reading says which probe read it (NULL: the
-- truck's only probe, as every reading archived before this column). The event id of a reading
-- without one is derived from (truck, probe, time), so two probes at one second are two rows.
ALTER TABLE readings ADD COLUMN probe_id text;

COMMENT ON COLUMN readings.probe_id IS
    'The truck''s probe that read temp (devices.toml); NULL: its single probe.';

-- The view keeps its columns and order (queries written against it run unchanged) and shows the
-- probe last; OR REPLACE keeps its grants.
CREATE OR REPLACE VIEW truck_history AS
SELECT event_id, truck_id, event_time AS "timestamp", temp, fuel, lat, lon,
       seq, trip_id, driver_id, cargo, speed_kmh, heading_deg, humidity,
       door_open, reefer_on, defrost, extras, event_time, probe_id
FROM readings;
