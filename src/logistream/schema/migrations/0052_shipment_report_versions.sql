-- Issued shipment reports (logistream report shipment), append-only like the trip reports'
-- report_versions: when the shipment's archived readings (its truck's, over the span its lots
-- were carried) or its stages, PoDs or release decisions change, the next report is version
-- n + 1; earlier versions are kept, listed in every later report, never updated or deleted.
CREATE TABLE shipment_report_versions (
    shipment_id   text        NOT NULL,
    version       integer     NOT NULL CHECK (version >= 1),
    issued_at     timestamptz NOT NULL DEFAULT now(),
    digest        text        NOT NULL,  -- SHA-256, hex, over the canonical readings
    digest_format text        NOT NULL,  -- logistream-readings-v1 (batch/reports/digest.py)
    readings      bigint      NOT NULL,
    verdict       text        NOT NULL,  -- the worst lot's: pass, review or fail
    content       jsonb       NOT NULL,  -- everything the report showed, to re-render it
    PRIMARY KEY (shipment_id, version)
);

CREATE TRIGGER shipment_report_versions_append_only
    BEFORE UPDATE OR DELETE ON shipment_report_versions
    FOR EACH ROW EXECUTE FUNCTION report_versions_refuse_change();
CREATE TRIGGER shipment_report_versions_no_truncate
    BEFORE TRUNCATE ON shipment_report_versions
    FOR EACH STATEMENT EXECUTE FUNCTION report_versions_refuse_change();

GRANT SELECT ON shipment_report_versions TO logistream_reader;
