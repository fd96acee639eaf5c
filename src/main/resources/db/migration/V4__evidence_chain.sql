-- Tamper-evident evidence: one hash chain per gateway instance (docs/evidence-format.md).
CREATE TABLE evidence_chain_head (
    chain_id text   PRIMARY KEY,
    size     bigint NOT NULL,
    head     bytea  NOT NULL
);

CREATE TABLE evidence_chain (
    chain_id    text        NOT NULL,
    position    bigint      NOT NULL CHECK (position >= 1),
    kind        text        NOT NULL,
    subject_id  uuid,
    recorded_at timestamptz NOT NULL,
    canonical   bytea       NOT NULL,   -- the RFC 8785 bytes that were hashed; never re-rendered
    hash        bytea       NOT NULL,
    PRIMARY KEY (chain_id, position)
);
CREATE INDEX evidence_chain_subject ON evidence_chain (subject_id);
CREATE INDEX evidence_chain_recorded_at ON evidence_chain (recorded_at);

CREATE TABLE evidence_checkpoint (
    chain_id   text        NOT NULL,
    size       bigint      NOT NULL,
    head       bytea       NOT NULL,
    signed_at  timestamptz NOT NULL,
    canonical  bytea       NOT NULL,   -- the signed bytes
    signature  bytea       NOT NULL,
    key_id     text        NOT NULL,
    hash       bytea       NOT NULL,   -- SHA-256(checkpoint domain || canonical): the next checkpoint's "previous"
    PRIMARY KEY (chain_id, size)
);

-- Append-only, for every role (superusers included): a trigger refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION attest_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER evidence_chain_append_only BEFORE UPDATE OR DELETE ON evidence_chain
    FOR EACH ROW EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER evidence_chain_no_truncate BEFORE TRUNCATE ON evidence_chain
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER evidence_checkpoint_append_only BEFORE UPDATE OR DELETE ON evidence_checkpoint
    FOR EACH ROW EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER evidence_checkpoint_no_truncate BEFORE TRUNCATE ON evidence_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER approval_event_append_only BEFORE UPDATE OR DELETE ON approval_event
    FOR EACH ROW EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER approval_event_no_truncate BEFORE TRUNCATE ON approval_event
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();

-- The application's role: it may insert and read evidence, never update or delete it. The gateway's
-- connections SET ROLE attest_app (attest.db.app-role); migrations run as the connecting user.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'attest_app') THEN
        CREATE ROLE attest_app NOLOGIN;
    END IF;
END
$$;
GRANT attest_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO attest_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO attest_app;
REVOKE UPDATE, DELETE, TRUNCATE ON evidence_chain, evidence_checkpoint, approval_event FROM attest_app;
REVOKE ALL ON flyway_schema_history FROM attest_app;
GRANT SELECT ON flyway_schema_history TO attest_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO attest_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO attest_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO attest_app;
