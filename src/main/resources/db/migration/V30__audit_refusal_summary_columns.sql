-- `attest verify --jdbc` compared no refusal_summary row with its refusal.summary chain entry: a DBA with the
-- triggers off could lower a flood's counts, move its window, change its source, delete a summary or insert one,
-- and verify still said VALID. This view holds every column of refusal_summary that the entry holds
-- (docs/evidence-format.md 5.1, step 6e); times are microseconds since the epoch, as in audit_record_columns (V28).
-- The auditors' login reads it, as it reads the chain entries that already carry these values.
CREATE VIEW audit_refusal_summary_columns AS
SELECT id, instance_id, source_address,
       (extract(epoch FROM window_start) * 1000000)::bigint AS window_start,
       (extract(epoch FROM window_end) * 1000000)::bigint AS window_end,
       recorded, counted, counted_total
FROM refusal_summary;
GRANT SELECT ON audit_refusal_summary_columns TO auditor_ro;
