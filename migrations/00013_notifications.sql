-- +goose Up

-- Stored player notifications (domain/notify): what the realtime gateway
-- pushes live and what the REST list shows. Each player's notifications are
-- numbered 1, 2, 3, ... with no gaps: a notification takes the next number
-- from the player's counter row in the transaction that stores it, so a
-- rolled-back notification gives its number back, and two transactions
-- notifying the same player wait for each other (the counter row's lock) and
-- commit in number order.
CREATE TABLE notification_seqs (
    account_id bigint PRIMARY KEY REFERENCES accounts (id),
    last_seq   bigint NOT NULL CHECK (last_seq >= 0)
);

CREATE TABLE notifications (
    account_id bigint      NOT NULL REFERENCES notification_seqs (account_id),
    seq        bigint      NOT NULL CHECK (seq > 0),
    id         uuid        NOT NULL UNIQUE,
    kind       text        COLLATE "C" NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' AND length(kind) <= 64),
    payload    jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz,
    PRIMARY KEY (account_id, seq)
);
-- The unread list and count of a player.
CREATE INDEX notifications_unread ON notifications (account_id, seq) WHERE read_at IS NULL;
-- Retention (Prune) walks by age.
CREATE INDEX notifications_created ON notifications (created_at);

-- +goose Down
DROP TABLE notifications;
DROP TABLE notification_seqs;
