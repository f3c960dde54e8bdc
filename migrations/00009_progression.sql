-- +goose Up

-- Live-ops content with draft and publish (domain/content): XP curves, unlock
-- trees, battle pass seasons, challenge pools, match modes. A designer saves
-- drafts (each save bumps draft_revision, the optimistic-concurrency token);
-- publishing validates the draft and makes it the next immutable version,
-- kept in content_versions. The game reads only published versions.
CREATE TABLE content_documents (
    kind              text        NOT NULL CHECK (kind ~ '^[a-z][a-z_]{1,31}$'),
    id                text        COLLATE "C" NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name              text        NOT NULL DEFAULT '',
    draft             jsonb,                           -- NULL: nothing waiting to be published
    draft_revision    integer     NOT NULL DEFAULT 0,
    draft_by          text        NOT NULL DEFAULT '',
    draft_at          timestamptz,
    published_version integer     NOT NULL DEFAULT 0,  -- 0: never published
    published         jsonb,
    published_at      timestamptz,
    retired           boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (kind, id),
    CHECK ((published_version = 0) = (published IS NULL))
);

CREATE TABLE content_versions (
    kind         text        NOT NULL,
    id           text        COLLATE "C" NOT NULL,
    version      integer     NOT NULL,
    body         jsonb       NOT NULL,
    published_by text        NOT NULL DEFAULT '',
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id, version),
    FOREIGN KEY (kind, id) REFERENCES content_documents (kind, id)
);

-- Dedicated game servers (domain/match) authenticate with a credential of
-- their own: 'msv_<id>_<secret>', of which only the secret's SHA-256 is kept.
CREATE TABLE game_servers (
    id           bigserial   PRIMARY KEY,
    name         text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    secret_hash  bytea       NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_seen_at timestamptz
);

-- A match is opened by the server that hosts it, with its roster, and closed
-- by that server's results, once. Accepted results go to the outbox (topic
-- match.accepted); results out of the mode's bounds wait in quarantine for
-- staff to release or discard.
CREATE TABLE matches (
    id          text        COLLATE "C" PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    server_id   bigint      NOT NULL REFERENCES game_servers (id),
    mode        text        NOT NULL,
    roster      bigint[]    NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    status      text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'quarantined', 'discarded')),
    result      jsonb,
    result_hash bytea,
    reported_at timestamptz,
    reason      text        NOT NULL DEFAULT '',
    reviewed_by text        NOT NULL DEFAULT '',
    reviewed_at timestamptz,
    CHECK ((status = 'open') = (result IS NULL))
);
CREATE INDEX matches_review ON matches (reported_at) WHERE status = 'quarantined';
CREATE INDEX matches_open ON matches (started_at) WHERE status = 'open';

-- Each consumer of accepted results applies a match once (match.Claim), on
-- top of the outbox's own once-per-event delivery.
CREATE TABLE match_applications (
    consumer   text        NOT NULL,
    match_id   text        COLLATE "C" NOT NULL REFERENCES matches (id),
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, match_id)
);

-- Account progression (domain/progression): XP within the current prestige,
-- the level it reaches on the published XP curve, and the prestige rank.
CREATE TABLE progression (
    account_id bigint      PRIMARY KEY REFERENCES accounts (id),
    xp         bigint      NOT NULL DEFAULT 0 CHECK (xp >= 0),
    level      integer     NOT NULL DEFAULT 1 CHECK (level >= 1),
    prestige   integer     NOT NULL DEFAULT 0 CHECK (prestige >= 0),
    total_xp   bigint      NOT NULL DEFAULT 0 CHECK (total_xp >= 0), -- over every prestige
    version    integer     NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Where each player's XP came from: matches, support adjustments, prestige
-- resets; keyed so that a retry writes nothing twice.
CREATE TABLE progression_events (
    idem_key   text        NOT NULL PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id),
    kind       text        NOT NULL CHECK (kind IN ('match', 'adjust', 'prestige')),
    xp         bigint      NOT NULL,
    level      integer     NOT NULL, -- after
    prestige   integer     NOT NULL, -- after
    memo       text        NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX progression_events_account ON progression_events (account_id, at DESC);

-- Unlock tree nodes a player has unlocked, once each.
CREATE TABLE unlocks (
    account_id  bigint      NOT NULL REFERENCES accounts (id),
    tree_id     text        COLLATE "C" NOT NULL,
    node_id     text        COLLATE "C" NOT NULL,
    idem_key    text        NOT NULL UNIQUE,
    unlocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, tree_id, node_id)
);

-- Currency spent on progression (unlock costs) goes to a system account of
-- its own in every currency.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_open_system_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_accounts (holder, currency)
    SELECT 'system:' || name, NEW.code
    FROM unnest(ARRAY['minted', 'rewards', 'store_revenue', 'refunds', 'chargeback_debt', 'crafting', 'support', 'progression']) AS name
    ON CONFLICT (holder, currency) DO NOTHING;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
INSERT INTO ledger_accounts (holder, currency) SELECT 'system:progression', code FROM currencies
ON CONFLICT (holder, currency) DO NOTHING;

-- Console permissions for progression, added to deployments whose roles
-- were seeded before it.
INSERT INTO rbac_rules (ptype, v0, v1, v2)
SELECT 'p', r.role, r.obj, r.act
FROM (VALUES ('admin', 'progression', 'view'), ('admin', 'progression', 'edit'), ('admin', 'progression', 'adjust'),
             ('admin', 'matches', 'view'), ('admin', 'matches', 'review'), ('admin', 'servers', 'manage'),
             ('designer', 'progression', 'view'), ('designer', 'progression', 'edit'),
             ('support', 'progression', 'view'), ('support', 'progression', 'adjust'), ('support', 'matches', 'view'),
             ('analyst', 'progression', 'view'), ('analyst', 'matches', 'view')) AS r (role, obj, act)
WHERE EXISTS (SELECT 1 FROM rbac_rules)
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM rbac_rules WHERE ptype = 'p' AND v1 IN ('progression', 'matches', 'servers');
DELETE FROM ledger_accounts WHERE holder = 'system:progression';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_open_system_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_accounts (holder, currency)
    SELECT 'system:' || name, NEW.code
    FROM unnest(ARRAY['minted', 'rewards', 'store_revenue', 'refunds', 'chargeback_debt', 'crafting', 'support']) AS name
    ON CONFLICT (holder, currency) DO NOTHING;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
DROP TABLE unlocks, progression_events, progression, match_applications, matches, game_servers, content_versions, content_documents;
