-- Sensor faults of each trip, as the batch views see them: a run of consecutive readings that
-- failed the plausibility check (see 0012), from its first reading to the next plausible one
-- (or the trip's last reading if none came). The trip report shows them; the readings are kept
-- in the archive as they came, only left out of excursions and MKT.

ALTER TYPE batch_marked_row ADD ATTRIBUTE raw_temp double precision;
ALTER TYPE batch_marked_row ADD ATTRIBUTE fault_no bigint;

CREATE TABLE sensor_faults (
    truck_id   text             NOT NULL,
    trip_id    text             NOT NULL,
    start_time timestamptz      NOT NULL,
    end_time   timestamptz      NOT NULL,
    ongoing    boolean          NOT NULL,
    readings   integer          NOT NULL,
    min_c      double precision NOT NULL,
    max_c      double precision NOT NULL,
    last_good_c double precision,
    PRIMARY KEY (truck_id, trip_id, start_time)
);

GRANT SELECT ON sensor_faults TO logistream_reader;
