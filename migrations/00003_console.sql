-- +goose Up
-- Studio staff who use the console (domain/staff), separate from players.
CREATE TABLE staff_accounts (
    id                 bigserial   PRIMARY KEY,
    email              text        NOT NULL UNIQUE,
    display_name       text        NOT NULL,
    password_hash      text        NOT NULL,
    role               text        NOT NULL,
    totp_secret_sealed bytea, -- AES-GCM under the deployment's secret key; NULL: no second factor
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins      integer     NOT NULL DEFAULT 0,
    locked_until       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_login_at      timestamptz
);

-- Console sessions: an opaque cookie token stored only as a SHA-256 hash,
-- with an idle and an absolute timeout.
CREATE TABLE staff_sessions (
    token_hash   bytea       PRIMARY KEY,
    staff_id     bigint      NOT NULL REFERENCES staff_accounts (id),
    csrf_token   text        NOT NULL,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id) WHERE revoked_at IS NULL;

-- Casbin policy rules (domain/rbac): p = role, resource, action.
CREATE TABLE rbac_rules (
    id    bigserial PRIMARY KEY,
    ptype text NOT NULL,
    v0    text NOT NULL DEFAULT '',
    v1    text NOT NULL DEFAULT '',
    v2    text NOT NULL DEFAULT '',
    v3    text NOT NULL DEFAULT '',
    v4    text NOT NULL DEFAULT '',
    v5    text NOT NULL DEFAULT '',
    UNIQUE (ptype, v0, v1, v2, v3, v4, v5)
);

-- The audit log (domain/audit): append-only and hash-chained.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    staff_id    bigint      REFERENCES staff_accounts (id),
    staff_email text        NOT NULL DEFAULT '',
    role        text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    target_type text        NOT NULL DEFAULT '',
    target_id   text        NOT NULL DEFAULT '',
    account_id  bigint, -- the player concerned, for the player filter
    before      jsonb,
    after       jsonb,
    reason      text        NOT NULL DEFAULT '',
    ip          text        NOT NULL DEFAULT '',
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL UNIQUE
);
CREATE INDEX audit_log_staff_at ON audit_log (staff_id, at DESC);
CREATE INDEX audit_log_account_at ON audit_log (account_id, at DESC);
CREATE INDEX audit_log_action_at ON audit_log (action, at DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Player search by display name fragment.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX accounts_display_name_trgm ON accounts USING gin (display_name_key gin_trgm_ops);

-- +goose Down
DROP INDEX accounts_display_name_trgm;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
DROP TABLE rbac_rules;
DROP TABLE staff_sessions;
DROP TABLE staff_accounts;
