-- Approvals hardening (issue 10): notification windows per approver, sign-ins bound to the browser and bounded,
-- sessions without access tokens, and retention of held calls' payloads.

-- How many approval emails each approver got in the current window, and how many held calls were not mailed
-- (the digest's "N more calls waiting"). Shared by every replica.
CREATE TABLE approval_notify (
    approver_subject  text        PRIMARY KEY,
    approver_username text,
    email             text        NOT NULL,
    window_start      timestamptz NOT NULL,
    sent              integer     NOT NULL DEFAULT 0 CHECK (sent >= 0),
    held_back         integer     NOT NULL DEFAULT 0 CHECK (held_back >= 0)
);
CREATE INDEX approval_notify_held_back ON approval_notify (window_start) WHERE held_back > 0;
GRANT SELECT, INSERT, UPDATE, DELETE ON approval_notify TO attest_app;

-- A pending sign-in is bound to the browser that started it (the SHA-256 of a cookie value), attributed to the
-- source address that started it (for the per-source cap) and expires; rows from before are dropped.
DELETE FROM approval_login;
ALTER TABLE approval_login ADD COLUMN browser_sha256 text NOT NULL;
ALTER TABLE approval_login ADD COLUMN source text NOT NULL;
CREATE INDEX approval_login_created ON approval_login (created_at);
CREATE INDEX approval_login_source ON approval_login (source);

-- Sessions keep the identity the sign-in proved, never the access token; sessions from before are dropped.
DELETE FROM approval_session;
ALTER TABLE approval_session DROP COLUMN access_token;
ALTER TABLE approval_session ADD COLUMN identity_json text NOT NULL;
CREATE INDEX approval_session_expires ON approval_session (expires_at);

-- The per-requester cap counts pending calls.
CREATE INDEX approval_request_pending_requester ON approval_request (requester_subject, expires_at)
    WHERE state = 'pending';
CREATE INDEX approval_request_list ON approval_request (created_at, id);

-- Retention purges the payloads of settled held calls (request, headers, preview, stored answer); the digest,
-- the rule and every approval_event stay.
ALTER TABLE approval_request ADD COLUMN payload_purged boolean NOT NULL DEFAULT false;
GRANT SELECT, UPDATE ON approval_request TO attest_retention;
GRANT SELECT, DELETE ON approval_login, approval_session TO attest_retention;
