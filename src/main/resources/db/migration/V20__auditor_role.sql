-- The auditors' read-only login (issue #14 §3b): the report views, and the chain tables that `attest verify` and
-- `attest export` read, and nothing else. No payload column (request, response, raw answer), no data key, no
-- approval row, no outbox, no write anywhere. Views run with their owner's rights, so the views need no grant on
-- the tables under them. Created without a password and NOLOGIN: the gateway sets its password from
-- attest.db.auditor-password-env / -file at start and only then lets it log in (docs/reports.md).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auditor_ro') THEN
        CREATE ROLE auditor_ro NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO auditor_ro', current_database()); END $$;
GRANT USAGE ON SCHEMA public TO auditor_ro;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM auditor_ro;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM auditor_ro;
-- reports (docs/reports.md)
GRANT SELECT ON audit_access, audit_denials, audit_approvals, audit_redactions, audit_completeness TO auditor_ro;
-- the chains, their checkpoints and the instance registry (verify, export; docs/evidence-format.md)
GRANT SELECT ON evidence_chain, evidence_chain_head, evidence_checkpoint, evidence_instance TO auditor_ro;
-- every session of this role is read-only, whatever a client asks for
ALTER ROLE auditor_ro SET default_transaction_read_only = on;
