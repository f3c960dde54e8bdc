-- +goose Up
-- Player accounts and the identities that log into them (domain/account).
CREATE TABLE accounts (
    id                      bigserial   PRIMARY KEY,
    public_id               text        NOT NULL UNIQUE,
    display_name            text        NOT NULL,
    display_name_key        text        NOT NULL UNIQUE, -- case-folded, for uniqueness
    display_name_changed_at timestamptz,
    status                  text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'banned', 'deleted')),
    banned_until            timestamptz,
    ban_reason              text        NOT NULL DEFAULT '',
    created_at              timestamptz NOT NULL DEFAULT now(),
    last_login_at           timestamptz,
    deleted_at              timestamptz
);

-- One row per way into an account: an email with a password hash, or a Steam id.
CREATE TABLE account_identities (
    account_id    bigint      NOT NULL REFERENCES accounts (id),
    provider      text        NOT NULL CHECK (provider IN ('email', 'steam')),
    subject       text        NOT NULL, -- normalised email, or SteamID64
    secret_hash   text        NOT NULL DEFAULT '', -- bcrypt hash for email
    owner_subject text        NOT NULL DEFAULT '', -- Steam family-sharing owner when it differs
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject),
    UNIQUE (account_id, provider)
);

-- One-time password reset tokens, stored only as SHA-256 hashes.
CREATE TABLE password_resets (
    token_hash bytea       PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_account ON password_resets (account_id);

-- Every login attempt, for the player's history, anomaly rules and staff.
CREATE TABLE login_events (
    id         bigserial   PRIMARY KEY,
    account_id bigint      REFERENCES accounts (id),
    at         timestamptz NOT NULL DEFAULT now(),
    ip         inet        NOT NULL,
    method     text        NOT NULL,
    outcome    text        NOT NULL,
    user_agent text        NOT NULL DEFAULT '',
    flags      text[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX login_events_account_at ON login_events (account_id, at DESC);
CREATE INDEX login_events_ip_at ON login_events (ip, at DESC);

-- Sessions and their refresh tokens (domain/session). A session is one
-- login on one device: a family of refresh tokens, each used once.
CREATE TABLE auth_sessions (
    id            uuid        PRIMARY KEY,
    account_id    bigint      NOT NULL REFERENCES accounts (id),
    method        text        NOT NULL,
    ip            text        NOT NULL DEFAULT '',
    user_agent    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text        NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_account_live ON auth_sessions (account_id) WHERE revoked_at IS NULL;

CREATE TABLE auth_refresh_tokens (
    token_hash bytea       PRIMARY KEY, -- SHA-256 of the opaque token
    session_id uuid        NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);

-- Access-token signing keys. The newest active key signs; retired keys stay
-- published until every token they signed has expired.
CREATE TABLE auth_signing_keys (
    kid                text        PRIMARY KEY,
    algorithm          text        NOT NULL,
    public_key         bytea       NOT NULL,
    private_key_sealed bytea       NOT NULL, -- AES-GCM under the deployment's secret key
    created_at         timestamptz NOT NULL DEFAULT now(),
    retired_at         timestamptz
);

-- +goose Down
DROP TABLE auth_signing_keys;
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE login_events;
DROP TABLE password_resets;
DROP TABLE account_identities;
DROP TABLE accounts;
