-- A held call is decided by its approver in person: a decision made with a token that names an actor (Keycloak's
-- impersonator, an RFC 8693 act chain) is refused (403 impersonated_approver) and recorded like a refused
-- self-approval, under the same cap per approver and window (docs/security.md).
ALTER TABLE approval_self_refusal DROP CONSTRAINT approval_self_refusal_refused_check;
ALTER TABLE approval_self_refusal ADD CONSTRAINT approval_self_refusal_refused_check
    CHECK (refused IN ('self_approval', 'service_account', 'impersonated_approver'));
