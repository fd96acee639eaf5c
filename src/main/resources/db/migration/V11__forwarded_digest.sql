-- The digest of the body as forwarded upstream, when request masking changed it (else it is request_sha256).
ALTER TABLE evidence_record ADD COLUMN forwarded_sha256 text;
