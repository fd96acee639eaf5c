-- An approver must never decide their own held call, under any spelling of their identity and through no one acting
-- for them. The requester's subject, username (requester_username) and verified email (requester_email, V33) were
-- kept with the held call; the actors behind their token were not. Now the held call keeps them, and each decision
-- the actors behind its approver's token: the RFC 8693 act chain (current actor first, at most 8 deep) and then
-- Keycloak's impersonator, as a JSON array of {subject, username, verifiedEmail, clientId, issuer, via}; null for a
-- token with neither, and for calls and decisions from before this migration (read as none). An approver whose token
-- has the requester behind it, a requester whose token had the approver behind it, or one actor behind both, is the
-- requester (403 self_approval, reason approver_actor, requester_actor, shared_actor); an actor that names no one
-- (unidentified_actor) is refused too. The same comparison finds an approver who decided already through an
-- earlier token (409). The columns are in no chain entry or event; a decision event names its approver's actors
-- (via, subject, username; no email).
ALTER TABLE approval_request ADD COLUMN requester_actors jsonb;
ALTER TABLE approval_decision ADD COLUMN approver_actors jsonb;
