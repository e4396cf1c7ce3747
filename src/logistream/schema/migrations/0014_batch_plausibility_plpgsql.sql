-- The batch pass's sensor-plausibility step (0012) in PL/pgSQL instead of SQL: the same test,
-- the same answers, about 3.5 times cheaper per reading.
--
-- Why: an aggregate's transition function is called once per reading and never inlined; a
-- LANGUAGE sql function called that way runs its query through the SQL-function executor on
-- every call (~15 µs a reading on a busy 2-core machine), where PL/pgSQL evaluates its
-- expressions on its fast path (~4 µs). Over the full recompute's 21.6 million readings that
-- was the largest single per-row cost of the pass.
--
-- Same answers: NULL conditions are false in CASE WHEN and in IF alike, and the expressions
-- are the same text, parsed by the same parser (tests/integration/test_batch_plausibility_step.py
-- compares the two on seeded random inputs, NULLs included). Applied after 0019 on an existing
-- database (blocks may grow, schema/migrate.py), before it on a new one: it replaces only the
-- function 0012 created, which nothing later changes.

CREATE OR REPLACE FUNCTION batch_plausible_step(
    state double precision[], ts double precision, temp double precision, door boolean,
    sensor_min double precision, sensor_max double precision, rate double precision,
    door_rate double precision, slack double precision
) RETURNS double precision[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF temp < sensor_min OR temp > sensor_max
       OR (state[1] IS NOT NULL
           AND abs(temp - state[2])
               > CASE WHEN door THEN door_rate ELSE rate END
                 * greatest(ts - state[1], 0) / 60.0 + slack) THEN
        RETURN ARRAY[state[1], state[2], 0];
    END IF;
    RETURN ARRAY[ts, temp, 1];
END
$$;
