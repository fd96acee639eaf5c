-- Floods: refusals past the per-source threshold are counted, one summary per source and window
-- (docs/security.md, "Floods and exhaustion"). Append-only, like the rest of the evidence.
CREATE TABLE refusal_summary (
    id             uuid        PRIMARY KEY,
    instance_id    text        NOT NULL,
    source_address text        NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    recorded       bigint      NOT NULL,   -- refusals of the window recorded one by one in evidence_record
    counted        jsonb       NOT NULL,   -- the others, counted by status: {"401": 1234}
    counted_total  bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL
);
CREATE INDEX refusal_summary_window ON refusal_summary (window_start);

CREATE TRIGGER refusal_summary_append_only BEFORE UPDATE OR DELETE ON refusal_summary
    FOR EACH ROW EXECUTE FUNCTION attest_append_only();
CREATE TRIGGER refusal_summary_no_truncate BEFORE TRUNCATE ON refusal_summary
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();
GRANT SELECT, INSERT ON refusal_summary TO attest_app;
REVOKE UPDATE, DELETE, TRUNCATE ON refusal_summary FROM attest_app;

