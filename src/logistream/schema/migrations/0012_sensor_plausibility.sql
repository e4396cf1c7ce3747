-- Sensor plausibility in the batch views, the same test as the speed layer's
-- (speed/rules/plausibility.py): a reading outside the probe's range, or further from the last
-- plausible reading of the trip than the cargo air can move in the time between, is a sensor
-- fault; it is left out of excursions and MKT (it stands for the air as last seen).

ALTER TABLE batch_cargo_profiles
    ADD COLUMN sensor_min_c            double precision NOT NULL DEFAULT -50.0,
    ADD COLUMN sensor_max_c            double precision NOT NULL DEFAULT 70.0,
    ADD COLUMN max_rate_c_per_min      double precision NOT NULL DEFAULT 4.0,
    ADD COLUMN max_rate_door_c_per_min double precision NOT NULL DEFAULT 10.0,
    ADD COLUMN rate_slack_c            double precision NOT NULL DEFAULT 4.0;

-- The marked rows of the pass say whether the reading was plausible (a critical is confirmed
-- by plausible readings only).
ALTER TYPE batch_marked_row ADD ATTRIBUTE plausible boolean;

-- One step of the check, as a running aggregate over a trip's readings in event-time order.
-- State: {event time of the last plausible reading, its °C, 1 if this reading is plausible}.
CREATE FUNCTION batch_plausible_step(
    state double precision[], ts double precision, temp double precision, door boolean,
    sensor_min double precision, sensor_max double precision, rate double precision,
    door_rate double precision, slack double precision
) RETURNS double precision[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN temp < sensor_min OR temp > sensor_max
             OR (state[1] IS NOT NULL
                 AND abs(temp - state[2])
                     > CASE WHEN door THEN door_rate ELSE rate END
                       * greatest(ts - state[1], 0) / 60.0 + slack)
        THEN ARRAY[state[1], state[2], 0]
        ELSE ARRAY[ts, temp, 1]
    END
$$;

CREATE AGGREGATE batch_plausibility(
    double precision, double precision, boolean, double precision, double precision,
    double precision, double precision, double precision
) (SFUNC = batch_plausible_step, STYPE = double precision[]);
