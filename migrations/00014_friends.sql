-- +goose Up

-- Friends (domain/friend). A relation between two players is kept as one
-- row per side, each saying what the relation is from that player's side:
-- friends on both rows, a request as 'outgoing' on the requester's row and
-- 'incoming' on the other's, a block as 'blocked' on the blocker's row only
-- (the blocked player has no row about it, so nothing of theirs shows it).
-- A player who is blocked and asks the blocker anyway has an 'outgoing' row
-- with no 'incoming' row on the other side: the request looks pending to
-- them and reaches nobody.

-- One row per player who has used friends. Every change of a relation
-- locks both players' rows, in account order, so that changes of the same
-- pair run one at a time (two requests crossing end as friends exactly
-- once) and each player's limits are counted under the lock.
CREATE TABLE friend_lists (
    account_id bigint      PRIMARY KEY REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE friend_links (
    account_id bigint      NOT NULL REFERENCES friend_lists (account_id),
    other_id   bigint      NOT NULL REFERENCES friend_lists (account_id),
    state      text        NOT NULL CHECK (state IN ('friend', 'incoming', 'outgoing', 'blocked')),
    since      timestamptz NOT NULL DEFAULT now(), -- when the relation reached this state
    PRIMARY KEY (account_id, other_id),
    CHECK (account_id <> other_id)
);
-- A player's friends, for presence fan-out and the party's checks.
CREATE INDEX friend_links_friends ON friend_links (account_id, other_id) WHERE state = 'friend';

-- +goose Down
DROP TABLE friend_links;
DROP TABLE friend_lists;
