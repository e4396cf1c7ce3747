-- Tenancy of the archive (issue 18): a shipper's or receiver's reads see the readings and alert
-- changes of a truck only while it carries one of their shipments, and a trip (its batch views
-- and its issued reports) only when the whole trip lies within one such window.
--
-- How: a NOLOGIN role logistream_tenant, granted to the reader. logistream.reads.tenancy.scoped,
-- the one place a reader gets its organisation, runs SET LOCAL ROLE logistream_tenant for any
-- organisation but the carrier, so a tenant's reads are under the policies below TO
-- logistream_tenant, and the carrier's reads (the reader role itself) under permissive ones:
-- nothing changes for the carrier, the dashboard's and the API's existing queries, the bridge
-- (INSERT) or the owner (CLI, batch layer, notifier, API writes: the tables' owner, not subject
-- to row-level security, no FORCE).
--
-- The window of a shipment (as reads/shipment_alerts.py and GET /v1/shipments/{id}/alerts):
-- from its created_at to its end, ends included; an active shipment's window is open; a
-- cancelled or delivered one changes no more, so it ends at its last logged change
-- (shipment_changes: the cancellation, or the proof of delivery, 0051, that delivered it).
-- Times are compared with event times (readings.event_time, alert_changes.changed_at): a
-- truck's own clock is what says when it carried the cargo.
-- No organisation set (NULL, or '' once a SET LOCAL ended) matches no shipment: fail closed.
-- The tenant has no SELECT on anything not granted here (users, tokens, audit_log,
-- notifications, rejected readings, bridge state, readings partitions, truck_history...).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'logistream_tenant') THEN
        BEGIN
            CREATE ROLE logistream_tenant NOLOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it at the same moment
        END;
    END IF;
    IF NOT pg_catalog.pg_has_role('logistream_reader', 'logistream_tenant', 'MEMBER') THEN
        BEGIN
            GRANT logistream_tenant TO logistream_reader;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO logistream_tenant;

-- Whether the transaction's organisation is shipper or receiver of a shipment of truck $1 whose
-- window covers $2. Runs as the caller: under the tenant's own policy on shipments. ($1/$2, not
-- the names: in a SQL function a column of the same name would win.)
CREATE FUNCTION tenant_may_see(truck_id text, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT FROM shipments s
        WHERE s.truck_id = $1
          AND current_setting('logistream.organisation', true) IN (s.shipper_id, s.receiver_id)
          AND $2 >= s.created_at
          AND (s.status = 'active'
               OR $2 <= (SELECT max(c.changed_at) FROM shipment_changes c
                         WHERE c.shipment_id = s.shipment_id)))
$$;

-- Whether one window of a shipment of truck $1 covers the whole span $2 .. $3 (a trip).
CREATE FUNCTION tenant_may_see_span(truck_id text, first_at timestamptz, last_at timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT FROM shipments s
        WHERE s.truck_id = $1
          AND current_setting('logistream.organisation', true) IN (s.shipper_id, s.receiver_id)
          AND $2 >= s.created_at
          AND (s.status = 'active'
               OR $3 <= (SELECT max(c.changed_at) FROM shipment_changes c
                         WHERE c.shipment_id = s.shipment_id)))
$$;

-- Whether the trip is visible: under the tenant's policy on trips (below).
CREATE FUNCTION tenant_may_see_trip(truck_id text, trip_id text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT FROM trips t WHERE t.truck_id = $1 AND t.trip_id = $2)
$$;

-- The shipments tables: the tenant reads them under 0054's policies (the reader keeps them).
GRANT SELECT ON shipments, shipment_lots, shipment_stops, shipment_changes, shipment_pod,
    shipment_report_versions, lot_releases TO logistream_tenant;
ALTER POLICY shipments_by_organisation ON shipments TO logistream_reader, logistream_tenant;
ALTER POLICY shipment_lots_by_organisation ON shipment_lots
    TO logistream_reader, logistream_tenant;
ALTER POLICY shipment_stops_by_organisation ON shipment_stops
    TO logistream_reader, logistream_tenant;
ALTER POLICY shipment_changes_by_organisation ON shipment_changes
    TO logistream_reader, logistream_tenant;
ALTER POLICY shipment_pod_by_organisation ON shipment_pod
    TO logistream_reader, logistream_tenant;
ALTER POLICY shipment_report_versions_by_organisation ON shipment_report_versions
    TO logistream_reader, logistream_tenant;
ALTER POLICY lot_releases_by_organisation ON lot_releases
    TO logistream_reader, logistream_tenant;

-- The raw archive: readings and alert changes of the truck within a window. The bridge writes
-- them (INSERT ... ON CONFLICT DO NOTHING: only an INSERT policy is needed); the reader reads
-- everything, as before. Through the parent only: the tenant has no grant on the partitions.
ALTER TABLE readings ENABLE ROW LEVEL SECURITY;
CREATE POLICY readings_reader ON readings FOR SELECT TO logistream_reader USING (true);
CREATE POLICY readings_bridge ON readings FOR INSERT TO logistream_bridge WITH CHECK (true);
CREATE POLICY readings_tenant ON readings FOR SELECT TO logistream_tenant
    USING (tenant_may_see(truck_id, event_time));

ALTER TABLE alert_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY alert_changes_reader ON alert_changes FOR SELECT TO logistream_reader
    USING (true);
CREATE POLICY alert_changes_bridge ON alert_changes FOR INSERT TO logistream_bridge
    WITH CHECK (true);
CREATE POLICY alert_changes_tenant ON alert_changes FOR SELECT TO logistream_tenant
    USING (tenant_may_see(truck_id, changed_at));

-- Trips: visible whole or not at all. A trip's figures and its report are the carrier's whole
-- trip, which may hold other customers' cargo before or after: only a trip that lies within
-- one window of the tenant's shipments is there; any other answers as unknown (404).
ALTER TABLE trips ENABLE ROW LEVEL SECURITY;
CREATE POLICY trips_reader ON trips FOR SELECT TO logistream_reader USING (true);
CREATE POLICY trips_tenant ON trips FOR SELECT TO logistream_tenant
    USING (tenant_may_see_span(truck_id, start_time, end_time));

-- The trip's other views and its issued reports: visible when the trip is.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['trip_compliance', 'probe_compliance', 'excursions', 'trip_gaps',
                             'sensor_faults', 'report_versions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO logistream_reader USING (true)',
                       t || '_reader', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO logistream_tenant '
                       'USING (tenant_may_see_trip(truck_id, trip_id))', t || '_tenant', t);
    END LOOP;
END
$$;

GRANT SELECT ON readings, alert_changes, trips, trip_compliance, probe_compliance, excursions,
    trip_gaps, sensor_faults, report_versions TO logistream_tenant;
-- Reference data the trip views join (the cargo profiles' limits): not a tenant's secret.
GRANT SELECT ON batch_cargo_profiles TO logistream_tenant;
