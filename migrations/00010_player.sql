-- +goose Up

-- Player data (domain/player). Each document carries a version, the
-- optimistic-concurrency token: a write names the version it was made from
-- and a stale one is refused with the current document.

-- The profile: the cosmetic shown to others in each profile slot (content
-- kind profile_rules), as slot id -> item id. Loadout creation and deletion
-- lock this row too, which keeps a player's loadout count in bounds.
CREATE TABLE player_profiles (
    account_id bigint      PRIMARY KEY REFERENCES accounts (id),
    cosmetics  jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(cosmetics) = 'object'),
    version    integer     NOT NULL DEFAULT 0 CHECK (version >= 0), -- 0: never written
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Named loadouts: slot id -> item id, checked against the content kind
-- loadout_rules and the player's inventory when saved.
CREATE TABLE player_loadouts (
    account_id bigint      NOT NULL REFERENCES accounts (id),
    loadout_id text        COLLATE "C" NOT NULL CHECK (loadout_id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    name       text        NOT NULL,
    slots      jsonb       NOT NULL CHECK (jsonb_typeof(slots) = 'object'),
    version    integer     NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, loadout_id)
);

-- Client settings: a JSON object the game defines, kept as sent (json, not
-- jsonb, so the client gets its own bytes back).
CREATE TABLE player_settings (
    account_id bigint      PRIMARY KEY REFERENCES accounts (id),
    body       json        NOT NULL,
    version    integer     NOT NULL CHECK (version >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Match stats, written only by the stats consumer of match.accepted: one
-- row per player for their lifetime (season '') and one per season they
-- played in, summed once per match (match_applications, consumer 'stats').
CREATE TABLE player_stats (
    account_id     bigint      NOT NULL REFERENCES accounts (id),
    season         text        COLLATE "C" NOT NULL, -- '': lifetime
    matches        bigint      NOT NULL DEFAULT 0,
    wins           bigint      NOT NULL DEFAULT 0,
    best_placement integer,                           -- NULL: no placement reported yet
    most_kills     bigint      NOT NULL DEFAULT 0,    -- in one match
    kills          bigint      NOT NULL DEFAULT 0,
    deaths         bigint      NOT NULL DEFAULT 0,
    assists        bigint      NOT NULL DEFAULT 0,
    damage         bigint      NOT NULL DEFAULT 0,
    headshots      bigint      NOT NULL DEFAULT 0,
    revives        bigint      NOT NULL DEFAULT 0,
    score          bigint      NOT NULL DEFAULT 0,
    seconds_played bigint      NOT NULL DEFAULT 0,
    kills_by_class jsonb       NOT NULL DEFAULT '{}', -- weapon class -> kills
    last_match_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, season)
);

-- +goose Down
DROP TABLE player_stats, player_settings, player_loadouts, player_profiles;
