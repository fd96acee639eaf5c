-- Retention purged a settled held call's request, preview and stored answer, but kept what it held of people only
-- to tell an approver from the requester while the call was pending: the requester's verified email (V33), the
-- actors behind their token (V35) and their whole identity as the token proved it (identity_json: roles, groups,
-- email, actors), and each approver's verified email and actors. They are evidence of nothing (no chain entry, event
-- or report holds them) and are now cleared with the payloads. The subjects, usernames and decisions stay: they are
-- the evidence of who decided (audit_approvals, the chain). attest_retention may clear just those two columns of a
-- decision.
GRANT SELECT (approval_id), UPDATE (approver_email, approver_actors) ON approval_decision TO attest_retention;
