-- Dead replicas are closed by survivors (issue #14; docs/evidence-format.md section 4.5).
-- Every running instance renews a lease (times from the database's clock, so the replicas' clocks never matter).
-- A survivor that finds a lease expired claims it (closed_by, a conditional update: one survivor wins), fences
-- the dead chain (closed_by on its head: an append to a closed chain fails) and closes the dead instance's open
-- records as aborted in its own chain, after a signed statement of the dead chain's size and head.
CREATE TABLE evidence_instance_lease (
    chain_id   text        PRIMARY KEY,
    renewed_at timestamptz NOT NULL,
    -- the start of the holder's unbroken run of renewals: a survivor counts another's silence from here at the
    -- earliest, so after a database outage nobody is closed before it had a full lease to renew
    since      timestamptz NOT NULL,
    lease_ms   bigint      NOT NULL CHECK (lease_ms > 0),
    closed_by  text,
    closed_at  timestamptz
);
GRANT SELECT, INSERT, UPDATE, DELETE ON evidence_instance_lease TO attest_app;

-- The fence: set by the survivor in the transaction that signs the dead chain's size and head into its own chain;
-- cleared only by the instance itself when it starts again under its id.
ALTER TABLE evidence_chain_head ADD COLUMN closed_by text;
ALTER TABLE evidence_chain_head ADD COLUMN closed_at timestamptz;
CREATE INDEX evidence_chain_head_closed_by ON evidence_chain_head (closed_by) WHERE closed_by IS NOT NULL;
