-- Masking: what was hidden (never the values), the exemption, and the raw upstream body's digest.
ALTER TABLE evidence_record ADD COLUMN masking_rule_set text;
ALTER TABLE evidence_record ADD COLUMN masking_exempt boolean;
ALTER TABLE evidence_record ADD COLUMN masking_report text;
ALTER TABLE evidence_record ADD COLUMN raw_response_size bigint;
ALTER TABLE evidence_record ADD COLUMN raw_response_sha256 text;
ALTER TABLE evidence_record DROP CONSTRAINT evidence_record_outcome_check;
ALTER TABLE evidence_record ADD CONSTRAINT evidence_record_outcome_check CHECK (outcome IN ('completed', 'denied',
    'unauthenticated', 'upstream_error', 'timeout', 'client_aborted', 'aborted', 'masking_failed', 'blocked'));
