-- Organisations (issue 18, tenancy): the carrier that runs the fleet, and the shippers and
-- receivers it carries for. Dashboard accounts belong to one (users.organisation, 0022, now a
-- foreign key); what a shipper's or receiver's account sees is scoped by it (0054). Managed with
-- `logistream orgs add|list` (owner role).
--
-- The carrier is exactly one row, id 'carrier', made here: the row-level security policies
-- (0054) and the API name the carrier by that id, so a second carrier cannot exist (the CHECK
-- ties the id and the kind together both ways).
CREATE TABLE organisations (
    id         text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
                           -- as shipment files name organisations: shipper.id / receiver.id
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind       text        NOT NULL CHECK (kind IN ('carrier', 'shipper', 'receiver')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((id = 'carrier') = (kind = 'carrier'))
);

INSERT INTO organisations (id, name, kind) VALUES ('carrier', 'The carrier', 'carrier');

-- Accounts made before this migration that named an organisation keep it: it becomes a row.
-- Until now an account's organisation only let it sign proofs of delivery, which receivers do,
-- so those rows are receivers (an admin changes a kind with SQL if one was a shipper).
INSERT INTO organisations (id, name, kind)
SELECT DISTINCT organisation, organisation, 'receiver' FROM users
WHERE organisation IS NOT NULL AND organisation <> 'carrier';

-- The operator's own staff (null until now) are the carrier's; new accounts are the carrier's
-- unless they say otherwise. The column stays nullable: an account without an organisation
-- (only by hand in SQL) is refused at sign-in with how to set it.
UPDATE users SET organisation = 'carrier' WHERE organisation IS NULL;
ALTER TABLE users ALTER COLUMN organisation SET DEFAULT 'carrier';
ALTER TABLE users ADD CONSTRAINT users_organisation_known
    FOREIGN KEY (organisation) REFERENCES organisations (id);

COMMENT ON TABLE organisations IS
    'The carrier (id carrier) and the shippers and receivers it carries for; '
    'managed with `logistream orgs add|list`.';

-- The read-only role reads it (0001 grants SELECT by default; said here too).
GRANT SELECT ON organisations TO logistream_reader;
