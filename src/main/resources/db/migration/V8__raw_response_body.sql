-- The upstream's answer before masking (encrypted like the other payloads; buffered answers that masking
-- changed or refused). Retention purges it with the others.
ALTER TABLE evidence_record ADD COLUMN raw_response_body bytea;

CREATE OR REPLACE FUNCTION attest_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'evidence is append-only: DELETE on evidence_record refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state = 'terminal' THEN
        IF NOT (current_user = 'attest_retention' AND NEW.payload_purged AND NEW.request_body IS NULL
                AND NEW.response_body IS NULL AND NEW.raw_response_body IS NULL
                AND (to_jsonb(NEW) - 'request_body' - 'response_body' - 'raw_response_body' - 'payload_purged')
                    = (to_jsonb(OLD) - 'request_body' - 'response_body' - 'raw_response_body' - 'payload_purged')) THEN
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
