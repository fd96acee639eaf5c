-- `attest verify --jdbc` compared no api_key row with the key.* chain entries that record it: a DBA with the triggers
-- off could set a revoked key's revoked_at back to NULL (and the key worked again), move its expiry, widen its
-- upstreams or models, drop its budget or give it to another owner, and verify still said VALID. This view holds every
-- column of api_key that the entries hold or imply (docs/evidence-format.md 5.1, step 6d), and never the secret's
-- digest. Times are microseconds since the epoch and arrays are JSON, as in audit_record_columns (V28), so that the
-- comparison does not depend on the session's TimeZone or DateStyle. The auditors' login reads it, as it reads the
-- chain entries that already carry these values.
CREATE VIEW audit_key_columns AS
SELECT id, name, owner_subject, owner_username, principal_type,
       array_to_json(upstreams) AS upstreams, array_to_json(models) AS models, budget, limits,
       (extract(epoch FROM created_at) * 1000000)::bigint AS created_at, created_by,
       (extract(epoch FROM expires_at) * 1000000)::bigint AS expires_at,
       (extract(epoch FROM revoked_at) * 1000000)::bigint AS revoked_at, revoked_by, expiry_recorded
FROM api_key;
GRANT SELECT ON audit_key_columns TO auditor_ro;
