-- V25's view let `attest verify --jdbc` compare fifteen of a call's columns with its terminal chain entry. The reports
-- read more than those (audit_access: received_at, principal_type, duration_ms; audit_denials: reason, error_code,
-- auth_error; audit_redactions: masking_report; usage_records: key_id and the token counts), and a row changed in any
-- of them behind its entry still verified. The view now holds every column of evidence_record that the entry holds
-- (docs/evidence-format.md 5.1, step 6a), and still no payload. Times are microseconds since the epoch and arrays are
-- JSON, so that the comparison does not depend on the session's TimeZone or DateStyle.
DROP VIEW audit_record_columns;
CREATE VIEW audit_record_columns AS
SELECT id, request_id, instance_id, state, outcome, approval_id,
       (extract(epoch FROM received_at) * 1000000)::bigint AS received_at,
       (extract(epoch FROM forwarded_at) * 1000000)::bigint AS forwarded_at,
       (extract(epoch FROM first_byte_at) * 1000000)::bigint AS first_byte_at,
       (extract(epoch FROM completed_at) * 1000000)::bigint AS completed_at,
       duration_ms, source_address,
       subject, username, principal_type, client_id, array_to_json(realm_roles) AS realm_roles,
       array_to_json(groups) AS groups, token_id, issuer, auth_error, key_id,
       method, path, upstream, model, request_size, request_sha256, forwarded_sha256, request_truncated,
       request_stored_size, request_stored_sha256,
       decision, rule_id, reason, rules_version,
       status, upstream_status, error_code, streamed, response_size, response_sha256, response_truncated,
       raw_response_size, raw_response_sha256, stream_timings,
       masking_rule_set, masking_exempt, masking_report,
       usage_status, prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, estimated_tokens
FROM evidence_record;
GRANT SELECT ON audit_record_columns TO auditor_ro;
