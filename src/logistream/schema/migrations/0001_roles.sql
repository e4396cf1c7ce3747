-- Roles are cluster-wide: several LogiStream databases (tests run many) share one cluster, so
-- creation is idempotent and survives a concurrent creator. Passwords are set by the runner
-- (logistream.batch.migrate) from the environment or the secrets file, never stored here.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['logistream_bridge', 'logistream_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it at the same moment
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO logistream_bridge, logistream_reader;

-- Everything the migration role creates from now on is readable by the dashboard role.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO logistream_reader;
