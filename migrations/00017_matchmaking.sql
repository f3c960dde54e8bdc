-- +goose Up

-- Matchmaking tickets (domain/matchmaking): one player or a whole party
-- waiting in a queue. A ticket waits until the matchmaker matches it or a
-- member cancels it; seq grows whenever a ticket (re)starts waiting, so
-- the matchmaker that holds a queue's lease reads only what is new.
CREATE TABLE mm_tickets (
    id            text        PRIMARY KEY,
    seq           bigserial   UNIQUE,
    queue         text        NOT NULL,
    state         text        NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'matched', 'cancelled')),
    party_id      text,
    leader_id     bigint      NOT NULL REFERENCES accounts (id),
    players       jsonb       NOT NULL CHECK (jsonb_typeof(players) = 'array'),
    latency       jsonb       NOT NULL CHECK (jsonb_typeof(latency) = 'object'),
    rating        double precision NOT NULL,
    waiting_since timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    match_id      text,
    reason        text
);
CREATE INDEX mm_tickets_waiting ON mm_tickets (queue, seq) WHERE state = 'waiting';
CREATE INDEX mm_tickets_left ON mm_tickets (queue, updated_at) WHERE state <> 'waiting';
CREATE INDEX mm_tickets_match ON mm_tickets (match_id) WHERE match_id IS NOT NULL;

-- A player holds at most one waiting ticket.
CREATE TABLE mm_ticket_players (
    ticket_id  text   NOT NULL REFERENCES mm_tickets (id),
    account_id bigint NOT NULL REFERENCES accounts (id),
    active     boolean NOT NULL DEFAULT true,
    PRIMARY KEY (ticket_id, account_id)
);
CREATE UNIQUE INDEX mm_ticket_players_one_waiting ON mm_ticket_players (account_id) WHERE active;

-- One matchmaker per queue: the replica whose lease has not expired. token
-- grows with each new holder, and a formed match commits only while its
-- holder's token is current.
CREATE TABLE mm_leases (
    queue      text        PRIMARY KEY,
    holder     text        NOT NULL,
    token      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Matches the matchmaker formed, with their quality; ratings read a
-- match's pool here.
CREATE TABLE mm_matches (
    match_id   text        PRIMARY KEY,
    queue      text        NOT NULL,
    pool       text        NOT NULL,
    region     text        NOT NULL,
    players    int         NOT NULL,
    full_match boolean     NOT NULL,
    spread     double precision NOT NULL,
    imbalance  double precision NOT NULL,
    max_wait_ms bigint     NOT NULL,
    formed_at  timestamptz NOT NULL DEFAULT now(),
    state      text        NOT NULL DEFAULT 'formed' CHECK (state IN ('formed', 'failed'))
);
CREATE INDEX mm_matches_formed ON mm_matches (queue, formed_at);

-- Seats that opened in a started match (players left), for the
-- matchmaker to fill from the queue when the queue allows backfill.
CREATE TABLE mm_backfill (
    match_id     text        PRIMARY KEY REFERENCES mm_matches (match_id),
    queue        text        NOT NULL,
    region       text        NOT NULL,
    free         int[]       NOT NULL, -- free seats per team
    rating       double precision NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX mm_backfill_queue ON mm_backfill (queue, region);

-- +goose Down
DROP TABLE mm_backfill;
DROP TABLE mm_matches;
DROP TABLE mm_leases;
DROP TABLE mm_ticket_players;
DROP TABLE mm_tickets;
