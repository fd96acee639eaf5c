-- One round trip per evidence commit (issue #12): the writer sends a commit's statements in one pipeline, which
-- PostgreSQL runs as one implicit transaction. Moving the chain head must then fail that transaction when the head
-- is not where the writer holds it (another appender of the chain moved it, or a survivor fenced the chain):
-- an UPDATE that finds no row is no error, so this function raises one, and nothing of the pipeline is kept.
-- The writer then reads the head again, locked, and writes the batch the long way (EvidenceChain.Appender).
CREATE FUNCTION attest_advance_chain_head(p_chain_id text, p_from bigint, p_size bigint, p_head bytea,
                                          p_frontier bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE evidence_chain_head SET size = p_size, head = p_head, frontier = p_frontier
        WHERE chain_id = p_chain_id AND size = p_from AND closed_by IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'evidence chain head moved' USING ERRCODE = 'AT001';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION attest_advance_chain_head(text, bigint, bigint, bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attest_advance_chain_head(text, bigint, bigint, bytea, bytea) TO attest_app;
-- The same for the terminal update of a record in that pipeline: an update that finds no row fails it.
CREATE FUNCTION attest_expect_one(p_rows bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_rows <> 1 THEN
        RAISE EXCEPTION 'evidence record to update not found' USING ERRCODE = 'AT002';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION attest_expect_one(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attest_expect_one(bigint) TO attest_app;
