-- Incremental batch runs. A run that covers every change (a full run, or one over the trips
-- with readings archived since the last such run) records how far the archive is reflected in
-- the views: every reading archived before `archived_before` is. The next incremental run
-- recomputes only the trips with a reading archived at or after it. Partial runs (a time range)
-- leave it NULL.
ALTER TABLE batch_runs ADD COLUMN archived_before timestamptz;

COMMENT ON COLUMN batch_runs.archived_before IS
    'Every reading archived before this is reflected in the views after this run (NULL: a partial run).';

-- "Readings archived since" without a full scan: rows arrive in archived_at order within each
-- day's partition, so a BRIN index is tiny and selective.
CREATE INDEX readings_archived_at_brin ON readings USING brin (archived_at);
