-- Approvals are decided by people, and never by the requester under another of their accounts. A call's requester was
-- matched by Keycloak subject only: one person with two accounts (the same verified email) could approve their own
-- call, and count twice towards a threshold. The requester's verified email (normalized: NFKC, lower case; null when
-- their token carried none) is kept with the held call, and each approver's with their decision; an approver with the
-- requester's verified email is the requester (403 self_approval), and one with an earlier approver's has decided
-- already (409). Neither is in an evidence chain entry or an event: the chain's entries are as before.
ALTER TABLE approval_request ADD COLUMN requester_email text;
ALTER TABLE approval_decision ADD COLUMN approver_email text;
-- A service account's token (client credentials) that tries to decide a call is refused (403 service_account) and
-- recorded like a refused self-approval, under the same cap per subject and window (V27); the window's summary says
-- which refusal it counted.
ALTER TABLE approval_self_refusal ADD COLUMN refused text NOT NULL DEFAULT 'self_approval'
    CHECK (refused IN ('self_approval', 'service_account'));
