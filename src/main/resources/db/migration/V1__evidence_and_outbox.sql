-- Evidence of every inference call, and the outbox that feeds Kafka.
CREATE TABLE evidence_record (
    id                 uuid        PRIMARY KEY,
    request_id         text        NOT NULL,
    instance_id        text        NOT NULL,
    state              text        NOT NULL CHECK (state IN ('open', 'terminal')),
    outcome            text        CHECK (outcome IN ('completed', 'denied', 'unauthenticated', 'upstream_error',
                                                      'timeout', 'client_aborted', 'aborted')),
    received_at        timestamptz NOT NULL,
    forwarded_at       timestamptz,
    first_byte_at      timestamptz,
    completed_at       timestamptz,
    duration_ms        bigint,
    source_address     text,
    subject            text,
    username           text,
    principal_type     text,
    client_id          text,
    realm_roles        text[],
    groups             text[],
    token_id           text,
    issuer             text,
    auth_error         text,
    method             text,
    path               text,
    upstream           text,
    model              text,
    streamed           boolean,
    decision           text,
    rule_id            text,
    reason             text,
    status             integer,
    upstream_status    integer,
    error_code         text,
    request_body       bytea,
    request_size       bigint,
    request_sha256     text,
    response_body      bytea,
    response_size      bigint,
    response_sha256    text,
    response_truncated boolean,
    CHECK (state = 'open' OR outcome IS NOT NULL)
);
CREATE INDEX evidence_record_received_at ON evidence_record (received_at);
CREATE INDEX evidence_record_request_id ON evidence_record (request_id);
CREATE INDEX evidence_record_subject ON evidence_record (subject, received_at);
CREATE INDEX evidence_record_open ON evidence_record (instance_id) WHERE state = 'open';

CREATE TABLE evidence_outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    event_key    text        NOT NULL,
    payload      text        NOT NULL,
    created_at   timestamptz NOT NULL,
    claimed_by    text,
    claimed_until timestamptz,
    published_at timestamptz
);
CREATE INDEX evidence_outbox_unpublished ON evidence_outbox (id) WHERE published_at IS NULL;
