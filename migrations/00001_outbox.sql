-- +goose Up
-- The transactional outbox: events written in the same transaction as the
-- change that causes them, delivered at least once to each subscribed consumer.
CREATE TABLE outbox_events (
    id          uuid PRIMARY KEY,
    topic       text        NOT NULL CHECK (topic <> ''),
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_events_topic_created ON outbox_events (topic, created_at);

-- Which consumer wants which topic. Consumers register themselves at start-up;
-- an event fans out to the consumers subscribed when it is written.
CREATE TABLE outbox_subscriptions (
    consumer   text        NOT NULL,
    topic      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic)
);

-- One row per (event, consumer): the delivery state machine.
CREATE TABLE outbox_deliveries (
    event_id        uuid        NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    consumer        text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_deliveries_dead ON outbox_deliveries (consumer) WHERE state = 'dead';

-- Events a consumer has already applied, so a repeated delivery changes nothing.
CREATE TABLE outbox_processed (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE outbox_processed;
DROP TABLE outbox_deliveries;
DROP TABLE outbox_subscriptions;
DROP TABLE outbox_events;
