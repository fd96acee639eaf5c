-- Provable completeness of the evidence chains (docs/evidence-format.md, sections 4 and 8; issue #11).

-- The registry of instances (chains): one row when an instance starts and one when it stops. Checkpoints sign
-- the set of chain ids found here, so a chain deleted with all its rows is still named by every other chain.
CREATE TABLE evidence_instance (
    chain_id text        NOT NULL,
    event    text        NOT NULL CHECK (event IN ('start', 'stop')),
    at       timestamptz NOT NULL,
    key_id   text        NOT NULL,
    PRIMARY KEY (chain_id, at, event)
);
CREATE TRIGGER evidence_instance_append_only BEFORE UPDATE OR DELETE ON evidence_instance
    FOR EACH ROW EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER evidence_instance_no_truncate BEFORE TRUNCATE ON evidence_instance
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();
GRANT SELECT, INSERT ON evidence_instance TO attest_app;
REVOKE UPDATE, DELETE, TRUNCATE ON evidence_instance FROM attest_app;

-- Heartbeat checkpoints: an idle chain is signed again at the same size, so a checkpoint is no longer unique by
-- (chain, size); its hash is.
ALTER TABLE evidence_checkpoint DROP CONSTRAINT evidence_checkpoint_pkey;
ALTER TABLE evidence_checkpoint ADD PRIMARY KEY (chain_id, hash);
CREATE INDEX evidence_checkpoint_size ON evidence_checkpoint (chain_id, size, signed_at);
CREATE INDEX evidence_checkpoint_signed_at ON evidence_checkpoint (chain_id, signed_at);

-- The Merkle tree over each chain's entries (RFC 9162): the compact frontier of the tree at the head's size
-- (the roots of its perfect subtrees, largest first, 32 bytes each; NULL: not computed yet), updated with the
-- head in the appending transaction ...
ALTER TABLE evidence_chain_head ADD COLUMN frontier bytea;

-- ... and a cache of the roots of complete subtrees of 256 leaves and more, for inclusion and consistency
-- proofs in O(log n) reads. Derived data: a verifier recomputes what it checks and never trusts this table.
CREATE TABLE evidence_merkle_node (
    chain_id text     NOT NULL,
    level    smallint NOT NULL CHECK (level >= 8),
    index    bigint   NOT NULL,
    hash     bytea    NOT NULL,
    PRIMARY KEY (chain_id, level, index)
);
GRANT SELECT, INSERT ON evidence_merkle_node TO attest_app;
REVOKE UPDATE, DELETE, TRUNCATE ON evidence_merkle_node FROM attest_app;
