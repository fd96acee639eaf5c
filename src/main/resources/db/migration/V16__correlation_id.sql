-- The caller's X-Request-Id, kept as a correlation id only: the record's request_id is always minted by the
-- gateway, so that no caller can give two calls one id. Not part of the evidence chain (caller-chosen text).
ALTER TABLE evidence_record ADD COLUMN correlation_id text;
