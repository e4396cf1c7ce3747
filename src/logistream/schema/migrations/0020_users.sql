-- Dashboard accounts (logistream users add NAME --role ...). Passwords are stored only as
-- salted scrypt hashes (logistream.serving.auth); the name is what an acknowledgement records.
CREATE TABLE users (
    name          text        PRIMARY KEY
                  CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    role          text        NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'admin')),
    password_hash text        NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE users IS
    'Dashboard sign-in accounts; managed with `logistream users` or by an admin on the dashboard.';

-- The read-only dashboard role reads the archive, not password hashes (0001 granted SELECT on
-- every new table by default): accounts are read and written with the owner's connection.
REVOKE ALL ON users FROM logistream_reader;
GRANT SELECT (name, role, created_at, updated_at) ON users TO logistream_reader;
