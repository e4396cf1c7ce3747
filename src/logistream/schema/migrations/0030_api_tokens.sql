-- API tokens of the integration API (logistream api token create|revoke). Only the SHA-256 of a
-- token is stored (a token is 256 random bits, so a fast hash is safe); the token itself is
-- printed once at creation. Revoking keeps the row (who had access, and until when).
CREATE TABLE api_tokens (
    token_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    scopes      text[]      NOT NULL
                CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'ack', 'ingest']),
    token_hash  text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
-- One live token per name: the name is the actor recorded on acknowledgements.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

COMMENT ON TABLE api_tokens IS
    'Integration API tokens (hashes only); managed with `logistream api token create|revoke`.';

-- The API runs as the read-only role, which must not list token hashes (0001 grants it SELECT
-- on every new table by default): it may only look one token up by its hash.
REVOKE ALL ON api_tokens FROM logistream_reader;

CREATE FUNCTION api_token_lookup(hash text)
RETURNS TABLE (name text, scopes text[], revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT t.name, t.scopes, t.revoked_at IS NOT NULL
    FROM public.api_tokens t WHERE t.token_hash = hash
$$;

REVOKE ALL ON FUNCTION api_token_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_token_lookup(text) TO logistream_reader;
