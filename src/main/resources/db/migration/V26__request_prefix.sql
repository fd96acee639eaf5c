-- A refused call that the policy (or an error before forwarding) turned away used to keep its whole body: a signed-in
-- user with no role could add a megabyte to the append-only store per request. Its record now keeps at most
-- attest.evidence.denied-body-bytes of the body and says so: request_truncated, and the kept prefix's size and SHA-256
-- (request_size and request_sha256 stay the whole body's). Null for every other record, and for records before V26.
-- The chain entry holds the same (request.truncated, stored_size, stored_sha256; docs/evidence-format.md section 1).
ALTER TABLE evidence_record
    ADD COLUMN request_truncated boolean,
    ADD COLUMN request_stored_size bigint,
    ADD COLUMN request_stored_sha256 text;
