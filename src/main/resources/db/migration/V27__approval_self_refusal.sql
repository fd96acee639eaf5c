-- An approver's refused self-approvals each added an approval_event row (and a chain entry and a Kafka event), with
-- no cap. Now at most attest.approval.self-refusals-per-window per approver and window are recorded one by one; past
-- that they are counted here, and when the window ends one summary event (kind 'decision', refused 'self_approval',
-- recorded and counted) is written on the last call they tried to approve, and the row is removed. Shared by every
-- replica; the row is locked while it is counted or summarised.
CREATE TABLE approval_self_refusal (
    approver_subject  text        PRIMARY KEY,
    approver_username text,
    window_start      timestamptz NOT NULL,
    recorded          integer     NOT NULL DEFAULT 0 CHECK (recorded >= 0),
    counted           integer     NOT NULL DEFAULT 0 CHECK (counted >= 0),
    last_approval_id  uuid        NOT NULL,
    last_evidence_id  uuid        NOT NULL
);
CREATE INDEX approval_self_refusal_window ON approval_self_refusal (window_start);
GRANT SELECT, INSERT, UPDATE, DELETE ON approval_self_refusal TO attest_app;
