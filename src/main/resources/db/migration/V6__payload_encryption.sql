-- Payload encryption at rest (AES-256-GCM, one data key per period wrapped by the master key) and retention.
CREATE TABLE evidence_data_key (
    id            text        PRIMARY KEY,   -- dk-<period number>
    master_key_id text        NOT NULL,
    wrapped       bytea,                     -- NULL once destroyed (retention): its payloads are unreadable for good
    created_at    timestamptz NOT NULL,
    destroyed_at  timestamptz
);
ALTER TABLE evidence_record ADD COLUMN payload_key_id text;
ALTER TABLE evidence_record ADD COLUMN payload_purged boolean NOT NULL DEFAULT false;
CREATE INDEX evidence_record_payload_key ON evidence_record (payload_key_id) WHERE payload_purged = false;
GRANT SELECT, INSERT, UPDATE ON evidence_data_key TO attest_app;
