-- +goose Up

-- Battle pass progress (domain/battlepass): per player and season, the XP
-- earned toward the season's pass (content kind battle_pass, id = season),
-- the tier it reached and whether the premium track is unlocked. Rewards are
-- paid as tiers are reached, so tier is also how far each track was paid
-- (premium only while premium). tier never goes down. prev_tier is the tier
-- before the last change, so that one set-based upsert for a whole match
-- reports which tiers each player crossed.
CREATE TABLE battlepass_progress (
    account_id bigint      NOT NULL REFERENCES accounts (id),
    season_id  text        COLLATE "C" NOT NULL,
    xp         bigint      NOT NULL DEFAULT 0 CHECK (xp >= 0),
    tier       integer     NOT NULL DEFAULT 0 CHECK (tier >= 0),
    prev_tier  integer     NOT NULL DEFAULT 0 CHECK (prev_tier >= 0 AND prev_tier <= tier),
    premium    boolean     NOT NULL DEFAULT false,
    premium_at timestamptz,
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, season_id),
    CHECK (premium = (premium_at IS NOT NULL))
);
CREATE INDEX battlepass_progress_season ON battlepass_progress (season_id);

-- Operations on a player's pass other than match XP: premium upgrades and
-- tier skips (bought by the player under an Idempotency-Key of theirs) and
-- support adjustments (by staff, with a reason). The key is the player's or
-- the console's, kept per account; a retry answers the recorded outcome.
CREATE TABLE battlepass_operations (
    id              bigserial   PRIMARY KEY,
    account_id      bigint      NOT NULL REFERENCES accounts (id),
    season_id       text        COLLATE "C" NOT NULL,
    idem_key        text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('premium', 'skip', 'adjust')),
    requested_tiers integer     NOT NULL DEFAULT 0, -- tiers asked for (skip, adjust)
    requested_xp    bigint      NOT NULL DEFAULT 0, -- XP asked for (adjust)
    tiers           integer     NOT NULL DEFAULT 0, -- tiers gained
    xp              bigint      NOT NULL DEFAULT 0, -- XP added
    price_currency  text,
    price_amount    bigint,
    reason          text        NOT NULL DEFAULT '',
    staff           text        NOT NULL DEFAULT '',
    at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, idem_key),
    CHECK ((price_currency IS NULL) = (price_amount IS NULL))
);
CREATE INDEX battlepass_operations_account ON battlepass_operations (account_id, season_id, at DESC);

-- +goose Down
DROP TABLE battlepass_operations, battlepass_progress;
