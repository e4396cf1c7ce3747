-- Tenancy of the shipments tables (issue 18): the read-only role, which the API and the
-- dashboard read with, sees a shipment only when the transaction's organisation is party to it.
-- The organisation is set per transaction by logistream.reads.tenancy.scoped
-- (set_config('logistream.organisation', ORG, true)), the one place a reader gets its tenant:
-- - 'carrier' (0023) sees every shipment;
-- - a shipper or receiver sees the shipments whose shipper_id or receiver_id it is (0050 keeps
--   one receiver per shipment: every lot of it goes to that receiver);
-- - no setting (NULL, or '' once a SET LOCAL ended) sees nothing: fail closed.
-- A shipment's other rows (lots, stops, changes, PoDs, report versions, release decisions) are
-- visible when their shipment is: the EXISTS runs under the same policy on shipments.
-- The owner (CLI, batch layer, the API's writes and report issuing) owns the tables and so is
-- not subject to it (no FORCE ROW LEVEL SECURITY). Other roles have no SELECT on them.
ALTER TABLE shipments ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipments_by_organisation ON shipments FOR SELECT TO logistream_reader
    USING (current_setting('logistream.organisation', true) IN ('carrier', shipper_id, receiver_id));

ALTER TABLE shipment_lots ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipment_lots_by_organisation ON shipment_lots FOR SELECT TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s WHERE s.shipment_id = shipment_lots.shipment_id));

ALTER TABLE shipment_stops ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipment_stops_by_organisation ON shipment_stops FOR SELECT TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s WHERE s.shipment_id = shipment_stops.shipment_id));

ALTER TABLE shipment_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipment_changes_by_organisation ON shipment_changes FOR SELECT
    TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s WHERE s.shipment_id = shipment_changes.shipment_id));

ALTER TABLE shipment_pod ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipment_pod_by_organisation ON shipment_pod FOR SELECT TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s WHERE s.shipment_id = shipment_pod.shipment_id));

ALTER TABLE shipment_report_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY shipment_report_versions_by_organisation ON shipment_report_versions FOR SELECT
    TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s
                      WHERE s.shipment_id = shipment_report_versions.shipment_id));

ALTER TABLE lot_releases ENABLE ROW LEVEL SECURITY;
CREATE POLICY lot_releases_by_organisation ON lot_releases FOR SELECT TO logistream_reader
    USING (current_setting('logistream.organisation', true) = 'carrier'
           OR EXISTS (SELECT FROM shipments s WHERE s.shipment_id = lot_releases.shipment_id));
