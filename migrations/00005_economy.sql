-- +goose Up
-- Content (domain/catalog): currencies, item definitions and crafting
-- recipes. Designers edit them in the console; every edit bumps the version
-- and keeps the previous document in catalog_revisions.
CREATE TABLE currencies (
    code       text        PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name       text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('soft', 'premium')),
    version    integer     NOT NULL DEFAULT 1,
    retired    boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog_items (
    -- Item ids sort bytewise (COLLATE "C") whatever the database's locale:
    -- inventories are paged and merged in that order (domain/inventory).
    id                  text        COLLATE "C" PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_.-]{1,63}$'),
    name                text        NOT NULL,
    kind                text        NOT NULL CHECK (kind IN ('weapon', 'operator', 'skin', 'charm', 'emote', 'banner', 'consumable', 'boost', 'currency_pack', 'bundle')),
    rarity              text        NOT NULL CHECK (rarity IN ('common', 'uncommon', 'rare', 'epic', 'legendary', 'mythic')),
    tags                text[]      NOT NULL DEFAULT '{}',
    max_stack           integer     NOT NULL DEFAULT 1 CHECK (max_stack >= 1), -- 1: unique
    lifetime_seconds    integer     CHECK (lifetime_seconds > 0), -- expires this long after a grant
    ends_at             timestamptz, -- or at this fixed time
    tradable            boolean     NOT NULL DEFAULT false,
    giftable            boolean     NOT NULL DEFAULT false,
    craft_value         bigint      NOT NULL DEFAULT 0 CHECK (craft_value >= 0),
    disenchant_currency text        REFERENCES currencies (code),
    disenchant_yield    bigint      NOT NULL DEFAULT 0 CHECK (disenchant_yield >= 0),
    version             integer     NOT NULL DEFAULT 1,
    retired             boolean     NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (lifetime_seconds IS NULL OR ends_at IS NULL),
    CHECK (disenchant_yield = 0 OR disenchant_currency IS NOT NULL)
);

CREATE TABLE recipes (
    id              text        PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_.-]{1,63}$'),
    output_item     text        NOT NULL REFERENCES catalog_items (id),
    output_quantity integer     NOT NULL DEFAULT 1 CHECK (output_quantity > 0),
    inputs          jsonb       NOT NULL DEFAULT '[]', -- [{"item_id": "...", "quantity": n}]
    cost_currency   text        REFERENCES currencies (code),
    cost_amount     bigint      NOT NULL DEFAULT 0 CHECK (cost_amount >= 0),
    version         integer     NOT NULL DEFAULT 1,
    retired         boolean     NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (cost_amount = 0 OR cost_currency IS NOT NULL)
);

CREATE TABLE catalog_revisions (
    kind      text        NOT NULL CHECK (kind IN ('currency', 'item', 'recipe')),
    id        text        NOT NULL,
    version   integer     NOT NULL,
    document  jsonb       NOT NULL,
    edited_by text        NOT NULL DEFAULT '',
    edited_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id, version)
);

-- The ledger (domain/ledger): double-entry, append-only. An account is a
-- holder ('player:<id>' or 'system:<name>') in one currency. A player
-- wallet's balance is a cache of the sum of its entries, which `muster
-- ledger verify` checks; system accounts keep no cached balance (0), so no
-- single row serializes every grant, and their balance is their entries' sum.
CREATE TABLE ledger_accounts (
    id         bigserial   PRIMARY KEY,
    holder     text        NOT NULL,
    account_id bigint      REFERENCES accounts (id), -- set for player wallets
    currency   text        NOT NULL REFERENCES currencies (code),
    balance    bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (holder, currency),
    CHECK ((account_id IS NULL) = (holder LIKE 'system:%')),
    CHECK (account_id IS NOT NULL OR balance = 0)
);

-- Every currency has every system account from its creation, so a transfer
-- never has to create one (the list matches ledger.SystemAccounts; a test
-- checks it).
-- +goose StatementBegin
CREATE FUNCTION ledger_open_system_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_accounts (holder, currency)
    SELECT 'system:' || name, NEW.code
    FROM unnest(ARRAY['minted', 'rewards', 'store_revenue', 'refunds', 'chargeback_debt', 'crafting', 'support']) AS name
    ON CONFLICT (holder, currency) DO NOTHING;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER currencies_open_system_accounts AFTER INSERT ON currencies
    FOR EACH ROW EXECUTE FUNCTION ledger_open_system_accounts();

CREATE TABLE ledger_transfers (
    id           bigserial   PRIMARY KEY,
    idem_key     text        NOT NULL UNIQUE,
    request_hash bytea       NOT NULL, -- of everything but the key: a reused key must carry the same transfer
    source       text        NOT NULL, -- purchase, reward, craft, gift, trade, support, refund, chargeback, ...
    currency     text        NOT NULL, -- no foreign keys on the hot path: each would lock a shared row
    amount       bigint      NOT NULL CHECK (amount > 0),
    memo         text        NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
    -- No foreign keys: a key share lock on the system account's row for every
    -- entry would serialize the game's grants. The transfer statement writes
    -- entries only for the rows it just wrote or locked, and `muster ledger
    -- verify` checks that every entry has its transfer and account.
    transfer_id   bigint      NOT NULL,
    account_id    bigint      NOT NULL,
    -- The transfer statement writes a 0 entry when the debit is refused, so
    -- that this constraint aborts the whole statement (domain/ledger).
    amount        bigint      NOT NULL CONSTRAINT ledger_entries_refused CHECK (amount <> 0),
    balance_after bigint,      -- the wallet's balance after it; NULL for system accounts
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, transfer_id)
);
CREATE INDEX ledger_entries_transfer ON ledger_entries (transfer_id);

-- +goose StatementBegin
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Inventory (domain/inventory): one row per player and item while owned.
-- Every change is one operation with an idempotency key and a journal line
-- per item it touched.
CREATE TABLE inventory_ops (
    id           bigserial   PRIMARY KEY,
    idem_key     text        NOT NULL UNIQUE,
    request_hash bytea       NOT NULL,
    account_id   bigint      NOT NULL REFERENCES accounts (id),
    kind         text        NOT NULL, -- grant, consume, craft, disenchant, gift_send, ...
    source       text        NOT NULL, -- purchase, reward, craft, gift, trade, support, expire, ...
    memo         text        NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_ops_account ON inventory_ops (account_id, id);

CREATE TABLE inventory_items (
    account_id  bigint      NOT NULL REFERENCES accounts (id),
    item_id     text        COLLATE "C" NOT NULL REFERENCES catalog_items (id),
    quantity    integer     NOT NULL CHECK (quantity > 0),
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    PRIMARY KEY (account_id, item_id)
);
CREATE INDEX inventory_items_expiry ON inventory_items (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX inventory_items_item ON inventory_items (item_id);

CREATE TABLE inventory_changes (
    op_id          bigint      NOT NULL REFERENCES inventory_ops (id),
    account_id     bigint      NOT NULL,
    item_id        text        COLLATE "C" NOT NULL,
    delta          integer     NOT NULL,
    -- A grant statement writes -1 for an item it could not grant, so that
    -- this constraint aborts the whole statement (domain/inventory).
    quantity_after integer     NOT NULL CONSTRAINT inventory_changes_refused CHECK (quantity_after >= 0),
    expires_after  timestamptz,
    -- a duplicate of a unique item converted into its disenchant yield
    converted_currency text,
    converted_amount   bigint  NOT NULL DEFAULT 0,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_changes_account ON inventory_changes (account_id, op_id DESC);
CREATE INDEX inventory_changes_op ON inventory_changes (op_id);

-- Gifts hold the sent items in escrow until accepted, declined or returned.
CREATE TABLE gifts (
    id          bigserial   PRIMARY KEY,
    sender      bigint      NOT NULL REFERENCES accounts (id),
    recipient   bigint      NOT NULL REFERENCES accounts (id),
    items       jsonb       NOT NULL, -- [{"item_id": "...", "quantity": n}]
    message     text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'returned')),
    sent_op     bigint      NOT NULL UNIQUE REFERENCES inventory_ops (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    CHECK (sender <> recipient)
);
CREATE INDEX gifts_recipient ON gifts (recipient, id) WHERE status = 'pending';
CREATE INDEX gifts_sender ON gifts (sender, id);
CREATE INDEX gifts_expiry ON gifts (expires_at) WHERE status = 'pending';

-- Trades (off unless the trades feature flag is on): the proposer's items
-- are in escrow until the counterparty accepts (atomic swap) or either side
-- cancels.
CREATE TABLE trades (
    id           bigserial   PRIMARY KEY,
    proposer     bigint      NOT NULL REFERENCES accounts (id),
    counterparty bigint      NOT NULL REFERENCES accounts (id),
    offered      jsonb       NOT NULL,
    requested    jsonb       NOT NULL,
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled', 'expired')),
    proposed_op  bigint      NOT NULL UNIQUE REFERENCES inventory_ops (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    CHECK (proposer <> counterparty)
);
CREATE INDEX trades_open ON trades (counterparty, id) WHERE status = 'open';
CREATE INDEX trades_proposer ON trades (proposer, id);

-- Console permissions for the economy, added to deployments whose roles
-- were seeded before it (a fresh deployment gets them from the default
-- policy).
INSERT INTO rbac_rules (ptype, v0, v1, v2)
SELECT 'p', r.role, r.obj, r.act
FROM (VALUES ('admin', 'catalog', 'view'), ('admin', 'economy', 'view'), ('admin', 'economy', 'grant'),
             ('designer', 'catalog', 'view'), ('designer', 'catalog', 'edit'), ('designer', 'economy', 'view'),
             ('support', 'economy', 'view'), ('support', 'economy', 'grant'),
             ('analyst', 'catalog', 'view'), ('analyst', 'economy', 'view')) AS r (role, obj, act)
WHERE EXISTS (SELECT 1 FROM rbac_rules)
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM rbac_rules WHERE ptype = 'p' AND v1 IN ('catalog', 'economy');
DROP TABLE trades, gifts, inventory_changes, inventory_items, inventory_ops;
DROP TABLE ledger_entries, ledger_transfers, ledger_accounts;
DROP FUNCTION ledger_append_only();
DROP TRIGGER currencies_open_system_accounts ON currencies;
DROP FUNCTION ledger_open_system_accounts();
DROP TABLE catalog_revisions, recipes, catalog_items, currencies;
