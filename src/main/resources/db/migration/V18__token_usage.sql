-- Token usage on every forwarded call (issue #13): as the upstream reported it ('reported'), or 'unknown'
-- (then estimated_tokens is the gateway's byte-based estimate, used for budgets only and marked as such).
-- key_id: the virtual key the call was made with (the owner is the record's subject).
ALTER TABLE evidence_record
    ADD COLUMN key_id uuid,
    ADD COLUMN usage_status text,
    ADD COLUMN prompt_tokens bigint,
    ADD COLUMN completion_tokens bigint,
    ADD COLUMN total_tokens bigint,
    ADD COLUMN cached_tokens bigint,
    ADD COLUMN reasoning_tokens bigint,
    ADD COLUMN estimated_tokens bigint;
CREATE INDEX evidence_record_key ON evidence_record (key_id) WHERE key_id IS NOT NULL;

-- one row per terminal call that reached an upstream, with its usage
CREATE VIEW usage_records AS
SELECT id AS record_id, request_id, received_at, date_trunc('day', received_at) AS day,
       coalesce(username, subject) AS identity, subject, groups, key_id, upstream, model, outcome, usage_status,
       prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens, estimated_tokens
FROM evidence_record
WHERE state = 'terminal' AND usage_status IS NOT NULL;

-- tokens per day, identity, key, upstream and model (cost is added from usage/prices.yaml by /audit/usage)
CREATE VIEW usage_daily AS
SELECT day, identity, key_id, upstream, model, count(*) AS calls,
       sum(CASE WHEN usage_status = 'unknown' THEN 1 ELSE 0 END) AS unknown_usage_calls,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(total_tokens), 0) AS total_tokens, coalesce(sum(cached_tokens), 0) AS cached_tokens,
       coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens
FROM usage_records
GROUP BY 1, 2, 3, 4, 5;

GRANT SELECT ON usage_records, usage_daily TO attest_app;
