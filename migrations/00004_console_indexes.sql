-- +goose NO TRANSACTION
-- Built CONCURRENTLY, outside a transaction, so a live game keeps logging in
-- while they build (docs/operations.md: expand, then contract).

-- +goose Up
-- Indexes for the console's pages at 100,000+ players (see bench/README.md,
-- BenchmarkConsoleRoutes).

-- The player list's sort orders. account.Search orders by the column ASC
-- NULLS FIRST, id ASC or by its exact reverse, so one index serves both
-- directions; it also covers the id, so a page (even a deep one) comes from
-- an index-only scan. The unique index on display_name_key holds no id.
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_created_at_id ON accounts (created_at NULLS FIRST, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_last_login_at_id ON accounts (last_login_at NULLS FIRST, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_display_name_key_id ON accounts (display_name_key NULLS FIRST, id);

-- Dashboard: banned and deleted players, a small minority.
CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_not_active ON accounts (status) WHERE status <> 'active';

-- Dashboard: logins in the last hour, and flagged logins in the last day.
CREATE INDEX CONCURRENTLY IF NOT EXISTS login_events_at ON login_events (at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS login_events_flagged_at ON login_events (at) WHERE cardinality(flags) > 0;

-- Dashboard: live sessions, without reading every session ever opened.
CREATE INDEX CONCURRENTLY IF NOT EXISTS auth_sessions_live_expires ON auth_sessions (expires_at) WHERE revoked_at IS NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS auth_sessions_live_expires;
DROP INDEX CONCURRENTLY IF EXISTS login_events_flagged_at;
DROP INDEX CONCURRENTLY IF EXISTS login_events_at;
DROP INDEX CONCURRENTLY IF EXISTS accounts_not_active;
DROP INDEX CONCURRENTLY IF EXISTS accounts_display_name_key_id;
DROP INDEX CONCURRENTLY IF EXISTS accounts_last_login_at_id;
DROP INDEX CONCURRENTLY IF EXISTS accounts_created_at_id;
