-- Just-in-time approval: the held call (the claim-check ticket), the decisions, each step as evidence,
-- and the tables of camel-sql's JDBC aggregation repository that correlates the decisions.
CREATE TABLE approval_request (
    id                  uuid        PRIMARY KEY,
    evidence_id         uuid        NOT NULL REFERENCES evidence_record (id),
    request_id          text        NOT NULL,
    instance_id         text        NOT NULL,
    state               text        NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled',
                                                              'executing', 'executed', 'failed')),
    requester_subject   text        NOT NULL,
    requester_username  text,
    identity_json       text        NOT NULL,
    upstream            text        NOT NULL,
    target_path         text        NOT NULL,
    method              text        NOT NULL,
    request_uri         text        NOT NULL,
    request_headers     text        NOT NULL,   -- JSON [[name, value], ...], caller credentials already stripped
    request_body        bytea       NOT NULL,
    request_sha256      text        NOT NULL,   -- over method, uri, headers and body: the approval is bound to it
    facts_json          text        NOT NULL,
    rule_id             text        NOT NULL,
    reason              text        NOT NULL,
    approver_role       text,
    approver_group      text,
    approvals_required  integer     NOT NULL CHECK (approvals_required >= 1),
    preview             text        NOT NULL,   -- masked, shown to approvers
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    decided_at          timestamptz,
    executed_at         timestamptz,
    flagged             text,                   -- why the call was refused at execution (digest mismatch)
    result_status       integer,
    result_headers      text,
    result_body         bytea,
    result_until        timestamptz,
    result_read_at      timestamptz
);
CREATE INDEX approval_request_pending ON approval_request (created_at) WHERE state = 'pending';
CREATE INDEX approval_request_requester ON approval_request (requester_subject);

CREATE TABLE approval_decision (
    approval_id       uuid        NOT NULL REFERENCES approval_request (id),
    approver_subject  text        NOT NULL,
    approver_username text,
    decision          text        NOT NULL CHECK (decision IN ('approve', 'deny')),
    comment           text,
    channel           text        NOT NULL,
    auth_time         timestamptz,
    decided_at        timestamptz NOT NULL,
    PRIMARY KEY (approval_id, approver_subject)
);

-- every step of an approval, linked to the call's evidence record
CREATE TABLE approval_event (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    approval_id  uuid        NOT NULL REFERENCES approval_request (id),
    evidence_id  uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('held', 'notified', 'decision', 'approved', 'denied', 'expired',
                                                      'cancelled', 'executed', 'failed', 'flagged', 'result_read')),
    actor        text,
    detail       text        NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX approval_event_approval ON approval_event (approval_id, id);

-- approval page sessions (authorization code + PKCE); any replica can serve them
CREATE TABLE approval_login (
    state          text        PRIMARY KEY,
    code_verifier  text        NOT NULL,
    return_to      text        NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE TABLE approval_session (
    id_sha256    text        PRIMARY KEY,
    subject      text        NOT NULL,
    access_token text        NOT NULL,
    csrf_token   text        NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- camel-sql JdbcAggregationRepository (repository name: approval_aggregation)
CREATE TABLE approval_aggregation (
    id       varchar(255) PRIMARY KEY,
    exchange bytea        NOT NULL,
    version  bigint       NOT NULL
);
CREATE TABLE approval_aggregation_completed (
    id       varchar(255) PRIMARY KEY,
    exchange bytea        NOT NULL,
    version  bigint       NOT NULL
);

ALTER TABLE evidence_record DROP CONSTRAINT evidence_record_outcome_check;
ALTER TABLE evidence_record ADD CONSTRAINT evidence_record_outcome_check CHECK (outcome IN ('completed', 'denied',
    'unauthenticated', 'upstream_error', 'timeout', 'client_aborted', 'aborted', 'masking_failed', 'blocked',
    'expired', 'cancelled'));
ALTER TABLE evidence_record ADD COLUMN approval_id uuid;
