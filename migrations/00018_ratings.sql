-- +goose Up

-- Skill ratings (domain/rating): a player's rating in one pool and season,
-- the mean (mu) and uncertainty (sigma) of the Weng-Lin Plackett-Luce
-- model. A pool is the queue a match was played in (the match's mode until
-- the matchmaker maps matches to queues); season is the id of the season
-- the match started in, or '' when it started in none. A player without a
-- row has the model's new-player rating. Each match is applied once
-- (match_applications, consumer 'ratings'); an update creates or locks its
-- players' rows in account order, in one statement, so that matches
-- sharing players take turns and never deadlock.
CREATE TABLE ratings (
    pool       text             COLLATE "C" NOT NULL CHECK (length(pool) BETWEEN 1 AND 128),
    season     text             COLLATE "C" NOT NULL CHECK (length(season) <= 128),
    account_id bigint           NOT NULL REFERENCES accounts (id),
    mu         double precision NOT NULL CHECK (mu BETWEEN -1e9 AND 1e9),
    sigma      double precision NOT NULL CHECK (sigma > 0 AND sigma <= 1e9),
    matches    integer          NOT NULL DEFAULT 0 CHECK (matches >= 0), -- rated matches played
    updated_at timestamptz      NOT NULL DEFAULT now(),
    -- Led by the player: reads and updates name their players (a match's,
    -- a queue's tickets) and find each one's row, however many pools and
    -- seasons they played in.
    PRIMARY KEY (account_id, pool, season)
);

-- +goose Down
DROP TABLE ratings;
