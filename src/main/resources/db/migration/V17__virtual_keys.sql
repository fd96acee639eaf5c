-- Virtual keys (issue #13): long-lived API keys bound to a Keycloak identity. Only the SHA-256 of the secret
-- (256 random bits) is stored; the secret is shown once. Creation, revocation and expiry are evidence (chain
-- entries key.created / key.revoked / key.expired, with their Kafka events); rows are never deleted.
CREATE TABLE api_key (
    id              uuid PRIMARY KEY,
    secret_sha256   bytea NOT NULL UNIQUE,
    hint            text NOT NULL,                -- the secret's last 4 characters, to tell keys apart
    name            text NOT NULL,
    owner_subject   text NOT NULL,
    owner_username  text,
    principal_type  text NOT NULL,
    client_id       text,                         -- the client the owner's token was issued to at creation
    upstreams       text[] NOT NULL DEFAULT '{}', -- empty: every upstream the owner may call
    models          text[] NOT NULL DEFAULT '{}', -- globs; empty: every model the owner may call
    budget          text,                         -- JSON: {"tokens": n | "cost": d, "period": "day"|"month"}
    limits          text,                         -- JSON: {"requests_per_minute": n, "tokens_per_minute": n}
    created_at      timestamptz NOT NULL,
    created_by      text NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      text,
    expiry_recorded boolean NOT NULL DEFAULT false,
    last_used_at    timestamptz
);
CREATE INDEX api_key_by_owner ON api_key (owner_subject);
CREATE INDEX api_key_unrecorded_expiry ON api_key (expires_at) WHERE NOT expiry_recorded AND revoked_at IS NULL;

-- The owner's power as Keycloak last said (Admin Client), shared by every replica: a key acts with these roles
-- and groups only while checked_at is recent (attest.keys.owner-max-age-ms, at most 60 s).
CREATE TABLE api_key_owner (
    subject     text PRIMARY KEY,
    username    text,
    enabled     boolean NOT NULL,
    roles       text[] NOT NULL DEFAULT '{}',
    groups      text[] NOT NULL DEFAULT '{}',
    checked_at  timestamptz NOT NULL
);
