-- One event id is one archived reading. The archive's key is (event_id, event_time) because
-- PostgreSQL needs the partition column in it, so on its own it lets a re-send of an event id
-- with another timestamp become a second row. This small unpartitioned registry holds every
-- archived event id once, with the event time it was archived at. The bridge fills it in the
-- same transaction as the rows and their offsets, and archives only the readings whose id it
-- registered: a re-send with the same time is a silent no-op, one with another time goes to
-- the DLQ as `conflicting_duplicate`.
CREATE TABLE reading_ids (
    event_id   text        PRIMARY KEY,
    event_time timestamptz NOT NULL
);

COMMENT ON TABLE reading_ids IS
    'Every archived event_id once, with its event time (written by logistream bridge with the row).';

-- An archive written before this migration: register what is there. Where it already holds an
-- event id twice (the defect this fixes), the first copy archived is the one registered; the
-- other row stays (the archive is append-only) and later re-sends are checked against the first.
INSERT INTO reading_ids (event_id, event_time)
SELECT DISTINCT ON (event_id) event_id, event_time
FROM readings
ORDER BY event_id, archived_at, source_partition, source_offset;

-- Insert-only for the bridge, like the archive; it reads the registry to tell an exact re-send
-- from a conflicting one (and to name the archived time in the DLQ sentence).
GRANT SELECT, INSERT ON reading_ids TO logistream_bridge;
GRANT SELECT ON reading_ids TO logistream_reader;
