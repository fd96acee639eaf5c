-- Held calls' payloads (the exact request, the stored answer) are encrypted like evidence payloads.
ALTER TABLE approval_request ADD COLUMN payload_key_id text;
