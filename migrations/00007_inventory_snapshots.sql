-- +goose Up

-- Snapshots of big inventories (domain/inventory/shared.go): the encoded
-- items of a player who holds many, with the inventory version they are of
-- (newest operation id and operation count). A process that has not read
-- the player yet starts from the snapshot and patches it from the
-- operations since, instead of reading and decoding every row. A snapshot
-- is a cache: deleting one costs a slower read, never a wrong one.
CREATE TABLE inventory_snapshots (
    account_id bigint      PRIMARY KEY REFERENCES accounts (id),
    max_op     bigint      NOT NULL,
    ops        bigint      NOT NULL,
    items      bytea       NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
-- Stored out of line without compression: the encoding is already compact,
-- and decompressing it on every cold read costs more than it saves.
ALTER TABLE inventory_snapshots ALTER COLUMN items SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE inventory_snapshots;
