-- The columns of each call's record that its terminal chain entry also holds, and no payload: `attest verify --jdbc`
-- compares them with the entry (docs/evidence-format.md 5.1, step 6a), under the auditors' login too, which reads no
-- table (V20). A row changed behind its chain entry is then found by the auditor's own verification, not only by the
-- owner's. Views run with their owner's rights.
CREATE VIEW audit_record_columns AS
SELECT id, request_id, outcome, source_address, subject, username, client_id, method, path, upstream, model,
       request_sha256, decision, rule_id, status, response_sha256
FROM evidence_record;
GRANT SELECT ON audit_record_columns TO auditor_ro;
