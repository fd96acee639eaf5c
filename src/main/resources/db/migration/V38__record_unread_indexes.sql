-- Two indexes of evidence_record that no query reads, and that every call pays for twice (issue #12): once at the
-- open insert and again at the terminal update, which is never a HOT update (state is in the predicate of
-- evidence_record_open), so it gives every index of the row a second entry; and every vacuum of the table scans them
-- whole. Measured on the bench stack: they were the two largest indexes of the table (docs/benchmarks.md, session
-- of 2026-12-02 16:00).
--  - evidence_record_subject (subject, received_at): the reports filter on coalesce(username, subject) (the views'
--    identity), which this index cannot serve; nothing else selects records by subject.
--  - evidence_record_request_id: nothing selects records by request id. A call is found by its record id, which the
--    caller gets (Attest-Evidence-Id) and every log line and span of the call carries (attest.record_id) beside the
--    request id. An operator who looks records up by request id often can create the index again
--    (docs/evidence.md, "The record").
DROP INDEX IF EXISTS evidence_record_subject;
DROP INDEX IF EXISTS evidence_record_request_id;
