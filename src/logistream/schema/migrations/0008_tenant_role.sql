-- The cluster-wide role a shipper's or receiver's reads run as (logistream_tenant, NOLOGIN;
-- reads.tenancy.scoped sets it with SET LOCAL ROLE), granted to the reader. Migration 0055 made
-- it first, beside its policies; it is made here too, on its own, because a restore into a fresh
-- cluster must create every role a dump's grants name before pg_restore runs
-- (backup.ops._create_roles runs 0001_roles and this file). Idempotent, as 0001 is, and safe
-- beside a concurrent creator (tests run many databases on one cluster).
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
