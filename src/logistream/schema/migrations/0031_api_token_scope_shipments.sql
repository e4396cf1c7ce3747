-- The API's `shipments` scope (POST /v1/shipments and its cancel and stage overrides): a token
-- may now carry it (logistream api token create NAME --scope shipments).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check
    CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'ack', 'ingest', 'shipments']);
