-- Issued trip reports, append-only: a late reading that changes a trip's archived readings
-- makes the next `logistream report trip` issue version n + 1; earlier versions are kept,
-- listed in every later report, and can never be updated or deleted (the trigger refuses it).
CREATE TABLE report_versions (
    truck_id      text        NOT NULL,
    trip_id       text        NOT NULL,
    version       integer     NOT NULL CHECK (version >= 1),
    issued_at     timestamptz NOT NULL DEFAULT now(),
    digest        text        NOT NULL,  -- SHA-256, hex, over the canonical readings
    digest_format text        NOT NULL,  -- e.g. logistream-readings-v1 (see batch/reports/digest.py)
    readings      bigint      NOT NULL,
    verdict       text        NOT NULL,
    content       jsonb       NOT NULL,  -- everything the report showed, to re-render it
    PRIMARY KEY (truck_id, trip_id, version),
    UNIQUE (truck_id, trip_id, digest)
);

CREATE FUNCTION report_versions_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_versions is append-only: issue a new version instead'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER report_versions_append_only
    BEFORE UPDATE OR DELETE ON report_versions
    FOR EACH ROW EXECUTE FUNCTION report_versions_refuse_change();
CREATE TRIGGER report_versions_no_truncate
    BEFORE TRUNCATE ON report_versions
    FOR EACH STATEMENT EXECUTE FUNCTION report_versions_refuse_change();

GRANT SELECT ON report_versions TO logistream_reader;
