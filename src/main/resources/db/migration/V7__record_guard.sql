-- Evidence records are not deleted, and a terminal record is not changed, except by the retention role purging
-- its payloads (bodies set to NULL with payload_purged); an open record may still be completed. For every role
-- but attest_retention, which runs the retention job (SET LOCAL ROLE in its transaction).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'attest_retention') THEN
        CREATE ROLE attest_retention NOLOGIN;
    END IF;
END
$$;
GRANT attest_retention TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO attest_retention;
GRANT SELECT, UPDATE ON evidence_record, evidence_data_key TO attest_retention;
GRANT SELECT, DELETE ON evidence_outbox TO attest_retention;
REVOKE DELETE, TRUNCATE ON evidence_outbox FROM attest_app;

CREATE FUNCTION attest_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'evidence is append-only: DELETE on evidence_record refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state = 'terminal' THEN
        IF NOT (current_user = 'attest_retention' AND NEW.payload_purged AND NEW.request_body IS NULL AND NEW.response_body IS NULL
                AND (to_jsonb(NEW) - 'request_body' - 'response_body' - 'payload_purged')
                    = (to_jsonb(OLD) - 'request_body' - 'response_body' - 'payload_purged')) THEN
            RAISE EXCEPTION 'evidence is append-only: a terminal evidence_record may only have its payloads purged, by retention'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF NEW.id <> OLD.id OR NEW.request_id <> OLD.request_id OR NEW.instance_id <> OLD.instance_id
          OR NEW.received_at <> OLD.received_at THEN
        RAISE EXCEPTION 'evidence is append-only: an open evidence_record keeps its identity'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER evidence_record_guard BEFORE UPDATE OR DELETE ON evidence_record
    FOR EACH ROW EXECUTE FUNCTION attest_record_guard();
CREATE TRIGGER evidence_record_no_truncate BEFORE TRUNCATE ON evidence_record
    FOR EACH STATEMENT EXECUTE FUNCTION attest_append_only();
REVOKE DELETE, TRUNCATE ON evidence_record FROM attest_app;
