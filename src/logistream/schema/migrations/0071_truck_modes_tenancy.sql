-- Operating modes under tenancy (issue 18): a shipper's or receiver's reads (the role
-- logistream_tenant, migration 0055) see a truck's modes that overlap a window of their
-- shipments on that truck (tenant_windows(), 0056): a mode on their cargo's truck held its
-- temperature alarms, which the shipper must be able to see on the truck's chart, as its
-- shipment report already lists them. A mode pending approval or refused held nothing and is
-- the carrier's business: not shown. The reader (the carrier's reads) sees every mode, as before;
-- the owner writes them (ModeStore) and is not subject to row-level security.
ALTER TABLE truck_modes ENABLE ROW LEVEL SECURITY;
CREATE POLICY truck_modes_reader ON truck_modes FOR SELECT TO logistream_reader USING (true);
CREATE POLICY truck_modes_tenant ON truck_modes FOR SELECT TO logistream_tenant
    USING (status IN ('active', 'ended')
           AND EXISTS (SELECT FROM unnest((SELECT tenant_windows())) w
                       WHERE w.truck_id = truck_modes.truck_id
                         AND w.spans && tstzrange(truck_modes.starts_at,
                                                  coalesce(truck_modes.ended_at,
                                                           truck_modes.ends_at), '[]')));
GRANT SELECT ON truck_modes TO logistream_tenant;
