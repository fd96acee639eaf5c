-- A DBA could still swap a key's secret_sha256 for the digest of a secret of their own (and call as the key's owner),
-- or change its client_id or hint: no key.* entry held them, and audit_key_columns (V29) did not show them. Key
-- entries now hold client_id, hint and secret_digest, the SHA-256 (hex) of the stored SHA-256 of the secret (never the
-- stored digest itself); this view shows the same, so that `attest verify --jdbc` compares them (docs/evidence-format.md
-- 5.1, step 6d). Knowing a digest of a digest of 256 random bits gives no way to the secret.
DROP VIEW audit_key_columns;
CREATE VIEW audit_key_columns AS
SELECT id, name, owner_subject, owner_username, principal_type,
       array_to_json(upstreams) AS upstreams, array_to_json(models) AS models, budget, limits,
       (extract(epoch FROM created_at) * 1000000)::bigint AS created_at, created_by,
       (extract(epoch FROM expires_at) * 1000000)::bigint AS expires_at,
       (extract(epoch FROM revoked_at) * 1000000)::bigint AS revoked_at, revoked_by, expiry_recorded,
       client_id, hint, encode(sha256(secret_sha256), 'hex') AS secret_digest
FROM api_key;
GRANT SELECT ON audit_key_columns TO auditor_ro;
