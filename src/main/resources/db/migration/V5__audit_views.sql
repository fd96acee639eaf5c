-- Reports for auditors and BI tools (docs/reports.md). Read-only views over the evidence.

-- access by identity, upstream and model, per hour
CREATE VIEW audit_access AS
SELECT date_trunc('hour', received_at) AS hour, coalesce(username, subject) AS identity, principal_type,
       client_id, upstream, model, outcome, count(*) AS calls,
       sum(CASE WHEN outcome = 'completed' THEN 1 ELSE 0 END) AS completed,
       sum(CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END) AS denied,
       avg(duration_ms)::bigint AS avg_duration_ms
FROM evidence_record
WHERE state = 'terminal'
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- every denial, with its rule and reason
CREATE VIEW audit_denials AS
SELECT id AS record_id, request_id, received_at, coalesce(username, subject) AS identity, client_id, upstream,
       model, method, path, status, error_code, rule_id, reason, auth_error
FROM evidence_record
WHERE state = 'terminal' AND outcome IN ('denied', 'unauthenticated');

-- every held call with its approvers and latency
CREATE VIEW audit_approvals AS
SELECT a.id AS approval_id, a.evidence_id AS record_id, a.request_id, a.requester_username AS requester,
       a.rule_id, a.reason, a.state, a.created_at, a.decided_at,
       (extract(epoch FROM (a.decided_at - a.created_at)) * 1000)::bigint AS latency_ms,
       (SELECT string_agg(d.approver_username || ':' || d.decision, ',' ORDER BY d.decided_at)
        FROM approval_decision d WHERE d.approval_id = a.id) AS decisions,
       a.approvals_required, a.executed_at, a.flagged
FROM approval_request a;

-- redactions by entity type, per hour
CREATE VIEW audit_redactions AS
SELECT date_trunc('hour', r.received_at) AS hour, r.upstream, e ->> 'entity_type' AS entity_type,
       e ->> 'action' AS action, sum((e ->> 'count')::bigint) AS count, count(DISTINCT r.id) AS calls
FROM evidence_record r, jsonb_array_elements(r.masking_report::jsonb -> 'entities') AS e
WHERE r.masking_report IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- completeness: calls without a terminal state, and each chain's unanchored tail
CREATE VIEW audit_completeness AS
SELECT h.chain_id, h.size AS chain_size, coalesce(max(c.size), 0) AS anchored_size,
       h.size - coalesce(max(c.size), 0) AS unanchored_records,
       (SELECT count(*) FROM evidence_record e WHERE e.instance_id = h.chain_id AND e.state = 'open') AS open_records,
       max(c.signed_at) AS last_checkpoint_at
FROM evidence_chain_head h LEFT JOIN evidence_checkpoint c ON c.chain_id = h.chain_id
GROUP BY h.chain_id, h.size;

GRANT SELECT ON audit_access, audit_denials, audit_approvals, audit_redactions, audit_completeness TO attest_app;
