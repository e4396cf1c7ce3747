-- The organisation an API token acts for (an organisation id as in shipment files: shipper.id /
-- receiver.id, as users.organisation in 0022); null: the fleet operator's own systems. A proof
-- of delivery through the API (POST /v1/shipments/{id}/pod) is recorded only with a token of the
-- shipment's receiving organisation (`logistream api token create NAME --organisation ORG`).
ALTER TABLE api_tokens ADD COLUMN organisation text
    CHECK (organisation IS NULL OR length(organisation) BETWEEN 1 AND 128);

-- The lookup the read-only role runs (0030) returns the organisation too; its row type changes,
-- so it is dropped and created again with the same grants.
DROP FUNCTION api_token_lookup(text);

CREATE FUNCTION api_token_lookup(hash text)
RETURNS TABLE (name text, scopes text[], revoked boolean, organisation text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT t.name, t.scopes, t.revoked_at IS NOT NULL, t.organisation
    FROM public.api_tokens t WHERE t.token_hash = hash
$$;

REVOKE ALL ON FUNCTION api_token_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_token_lookup(text) TO logistream_reader;
