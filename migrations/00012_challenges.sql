-- +goose Up

-- Daily and weekly challenges (domain/challenge). A player's set for a
-- period is drawn from the published challenge pool when it is first read
-- or first played, and kept: the slots hold the challenges as drawn (name,
-- goal, reward), so a pool edited mid-period changes nobody's set.
-- period is 'daily:YYYY-MM-DD' or 'weekly:YYYY-MM-DD' (the local date the
-- period starts on in the player's region).
CREATE TABLE challenge_sets (
    account_id   bigint      NOT NULL REFERENCES accounts (id),
    period       text        COLLATE "C" NOT NULL CHECK (period ~ '^(daily|weekly):[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
    region       text        NOT NULL,
    pool_id      text        COLLATE "C" NOT NULL,
    pool_version integer     NOT NULL,
    ends_at      timestamptz NOT NULL,
    rerolls_used integer     NOT NULL DEFAULT 0 CHECK (rerolls_used >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, period)
);
CREATE INDEX challenge_sets_ends ON challenge_sets (ends_at);

CREATE TABLE challenge_slots (
    account_id   bigint      NOT NULL,
    period       text        COLLATE "C" NOT NULL,
    slot         smallint    NOT NULL CHECK (slot >= 0),
    challenge_id text        COLLATE "C" NOT NULL,
    def          jsonb       NOT NULL, -- the challenge as drawn
    target       bigint      NOT NULL CHECK (target > 0),
    progress     bigint      NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= target),
    completed_at timestamptz,
    PRIMARY KEY (account_id, period, slot),
    UNIQUE (account_id, period, challenge_id),
    FOREIGN KEY (account_id, period) REFERENCES challenge_sets (account_id, period) ON DELETE CASCADE,
    CHECK ((completed_at IS NOT NULL) = (progress = target))
);

-- Rerolls, keyed by the player's idempotency key: a retry answers the
-- first reroll, and rerolled-away challenges are not drawn again that
-- period.
CREATE TABLE challenge_rerolls (
    account_id     bigint      NOT NULL,
    idem_key       text        NOT NULL,
    period         text        COLLATE "C" NOT NULL,
    from_challenge text        COLLATE "C" NOT NULL,
    to_challenge   text        COLLATE "C" NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, idem_key),
    FOREIGN KEY (account_id, period) REFERENCES challenge_sets (account_id, period) ON DELETE CASCADE
);
CREATE INDEX challenge_rerolls_period ON challenge_rerolls (account_id, period);

-- +goose Down
DROP TABLE challenge_rerolls, challenge_slots, challenge_sets;
