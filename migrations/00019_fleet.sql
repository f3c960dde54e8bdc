-- +goose Up

-- Sessions and the dedicated-server fleet (domain/fleet).
--
-- An instance is one running game server process. It registers with its
-- game server credential (game_servers; one credential may run many
-- processes), heartbeats, and hosts up to capacity matches at once. state
-- is what operators and the process decide: ready, draining (finishes its
-- matches, takes no new ones) or gone (silent past the timeout, or
-- deregistered: final, a restarted process registers anew). "busy" is not
-- stored: an instance is busy while allocated = capacity.
CREATE TABLE fleet_instances (
    id            bigserial   PRIMARY KEY,
    server_id     bigint      NOT NULL REFERENCES game_servers (id),
    fleet         text        NOT NULL CHECK (fleet ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    region        text        NOT NULL CHECK (region ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    host          text        NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
    port          integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    version       text        NOT NULL DEFAULT '' CHECK (length(version) <= 64),
    labels        jsonb       NOT NULL DEFAULT '{}',
    capacity      integer     NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    -- Matches allocated to it and not yet over. Allocation increments it
    -- under the row's lock, so it never passes capacity.
    allocated     integer     NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= capacity),
    state         text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'draining', 'gone')),
    drained_by    text        NOT NULL DEFAULT '',
    registered_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    gone_at       timestamptz,
    gone_reason   text        NOT NULL DEFAULT '',
    CHECK ((state = 'gone') = (gone_at IS NOT NULL))
);
-- The allocator's candidates: ready instances of a region.
CREATE INDEX fleet_instances_ready ON fleet_instances (region, allocated DESC, id) WHERE state = 'ready';
-- The sweeper's: instances not yet gone, by their last heartbeat.
CREATE INDEX fleet_instances_live ON fleet_instances (heartbeat_at) WHERE state <> 'gone';
-- One live process per address.
CREATE UNIQUE INDEX fleet_instances_address ON fleet_instances (host, port) WHERE state <> 'gone';
CREATE INDEX fleet_instances_gone ON fleet_instances (gone_at) WHERE state = 'gone';

-- A formed match's way to a server: pending while no server can take it
-- (retried with backoff until deadline), then allocated (the match is
-- opened for the server's credential and the players told where to
-- connect), and finally ended (results accepted, or the server said so, or
-- it ran past its mode's longest duration), lost (its server went silent)
-- or failed (no server within the deadline, or the match could not be
-- opened; the matchmaker was told). One row per match id: the consumer is
-- idempotent on it.
CREATE TABLE fleet_allocations (
    match_id        text        COLLATE "C" PRIMARY KEY,
    queue           text        NOT NULL DEFAULT '',
    mode            text        NOT NULL,
    region          text        NOT NULL,
    formed          jsonb       NOT NULL, -- the matchmaking.Formed event
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'allocated', 'ended', 'lost', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    deadline        timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    allocator       text        NOT NULL DEFAULT '',
    instance_id     bigint      REFERENCES fleet_instances (id) ON DELETE SET NULL,
    server_id       bigint      REFERENCES game_servers (id),
    game_server     text        NOT NULL DEFAULT '', -- Agones GameServer name
    host            text        NOT NULL DEFAULT '',
    port            integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    allocated_at    timestamptz,
    expires_at      timestamptz, -- allocated: ended by the sweeper after this
    ended_at        timestamptz,
    end_reason      text        NOT NULL DEFAULT '',
    CHECK ((state IN ('pending', 'failed')) OR (server_id IS NOT NULL AND allocated_at IS NOT NULL))
);
CREATE INDEX fleet_allocations_due ON fleet_allocations (next_attempt_at) WHERE state = 'pending';
CREATE INDEX fleet_allocations_instance ON fleet_allocations (instance_id) WHERE state = 'allocated';
CREATE INDEX fleet_allocations_expiry ON fleet_allocations (expires_at) WHERE state = 'allocated';
CREATE INDEX fleet_allocations_over ON fleet_allocations (coalesce(ended_at, created_at)) WHERE state IN ('ended', 'lost', 'failed');

-- The players of an allocated match, and whether the server says they are
-- connected: a player who dropped out asks for their live match to get
-- back in.
CREATE TABLE fleet_match_players (
    match_id   text        COLLATE "C" NOT NULL REFERENCES fleet_allocations (match_id) ON DELETE CASCADE,
    account_id bigint      NOT NULL REFERENCES accounts (id),
    player_id  text        NOT NULL, -- the public id servers know the player by
    team       integer     NOT NULL,
    connected  boolean     NOT NULL DEFAULT false,
    joined_at  timestamptz,
    left_at    timestamptz,
    PRIMARY KEY (match_id, account_id)
);
CREATE INDEX fleet_match_players_account ON fleet_match_players (account_id);

-- +goose Down
DROP TABLE fleet_match_players;
DROP TABLE fleet_allocations;
DROP TABLE fleet_instances;
