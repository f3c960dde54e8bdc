-- +goose Up

-- Store content (domain/store), edited by designers in the console and
-- versioned like the catalog (revisions in catalog_revisions).
--
-- A product is an offer (items for a virtual currency; several items make a
-- bundle) or a currency pack (premium currency for real money, priced per
-- region in store_prices).
CREATE TABLE store_products (
    id             text        COLLATE "C" PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('offer', 'pack')),
    name           text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    price_currency text        REFERENCES currencies (code),  -- offers
    price_amount   bigint      CHECK (price_amount > 0),
    items          jsonb       NOT NULL DEFAULT '[]',          -- offers: [{item_id, quantity}]
    grant_currency text        REFERENCES currencies (code),  -- packs
    grant_amount   bigint      CHECK (grant_amount > 0),
    bonus_amount   bigint      NOT NULL DEFAULT 0 CHECK (bonus_amount >= 0),
    starts_at      timestamptz,
    ends_at        timestamptz,
    purchase_limit integer     NOT NULL DEFAULT 0 CHECK (purchase_limit >= 0), -- per player; 0 is none
    position       integer     NOT NULL DEFAULT 0,
    retired        boolean     NOT NULL DEFAULT false,
    version        integer     NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at),
    CHECK ((kind = 'offer') = (price_currency IS NOT NULL AND price_amount IS NOT NULL)),
    CHECK ((kind = 'pack') = (grant_currency IS NOT NULL AND grant_amount IS NOT NULL))
);

-- Regions the store sells in; every pack has a price in each and a default
-- ('*') for every other country.
CREATE TABLE store_regions (
    country    text        PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE store_prices (
    product_id text   NOT NULL REFERENCES store_products (id) ON DELETE CASCADE,
    country    text   NOT NULL CHECK (country = '*' OR country ~ '^[A-Z]{2}$'),
    currency   text   NOT NULL CHECK (currency ~ '^[a-z]{3}$'), -- ISO 4217, as Stripe writes it
    amount     bigint NOT NULL CHECK (amount > 0),             -- in the currency's smallest unit
    PRIMARY KEY (product_id, country)
);

ALTER TABLE catalog_revisions DROP CONSTRAINT catalog_revisions_kind_check;
ALTER TABLE catalog_revisions ADD CONSTRAINT catalog_revisions_kind_check
    CHECK (kind IN ('currency', 'item', 'recipe', 'product'));

-- The country a player chose for the store (a storefront setting).
ALTER TABLE accounts ADD COLUMN store_country text CHECK (store_country ~ '^[A-Z]{2}$');

-- Orders: a virtual purchase completes in the transaction that creates it;
-- a real-money order is a state machine driven by Stripe (docs/store.md).
CREATE TABLE store_orders (
    id              bigserial   PRIMARY KEY,
    public_id       uuid        NOT NULL UNIQUE,  -- the order id Stripe carries in metadata
    idem_key        text        NOT NULL UNIQUE,
    request_hash    bytea       NOT NULL,
    account_id      bigint      NOT NULL REFERENCES accounts (id),
    product_id      text        NOT NULL,
    product_version integer     NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('virtual', 'real')),
    status          text        NOT NULL CHECK (status IN ('completed', 'revoked', 'pending', 'processing', 'paid', 'failed', 'expired', 'refunded')),
    country         text        NOT NULL,
    price_currency  text        NOT NULL, -- a virtual currency code, or an ISO 4217 code for real money
    price_amount    bigint      NOT NULL CHECK (price_amount > 0),
    grant_currency  text,                 -- packs: the premium currency credited
    grant_amount    bigint      NOT NULL DEFAULT 0,
    items           jsonb       NOT NULL DEFAULT '[]',
    counts_limit    boolean     NOT NULL DEFAULT false, -- holds a place in store_limits until it fails or expires
    checkout_id     text        UNIQUE,   -- Stripe Checkout Session
    checkout_url    text        NOT NULL DEFAULT '',
    payment_intent  text        UNIQUE,
    charge_id       text,
    paid            boolean     NOT NULL DEFAULT false,
    credited        bigint      NOT NULL DEFAULT 0, -- currency credited by fulfilment (and dispute reversals)
    refunded_amount bigint      NOT NULL DEFAULT 0, -- money refunded, as Stripe reports it
    disputed_amount bigint      NOT NULL DEFAULT 0, -- money lost to an open or lost dispute
    dispute_status  text        NOT NULL DEFAULT '',
    clawed_back     bigint      NOT NULL DEFAULT 0, -- currency taken back for refunds and disputes
    shortfall       bigint      NOT NULL DEFAULT 0, -- currency the policy could not take back
    moves           integer     NOT NULL DEFAULT 0, -- clawbacks and returns posted: the next one's idempotency key
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX store_orders_account ON store_orders (account_id, id DESC);
CREATE INDEX store_orders_open ON store_orders (created_at) WHERE status IN ('pending', 'processing');
CREATE INDEX store_orders_paid_day ON store_orders (created_at) WHERE kind = 'real' AND paid; -- revenue by day

-- Purchases that count against a product's per-player limit.
CREATE TABLE store_limits (
    account_id bigint  NOT NULL,
    product_id text    NOT NULL,
    purchased  integer NOT NULL CHECK (purchased >= 0),
    PRIMARY KEY (account_id, product_id)
);

-- The order's trail: every state change, payment event, refund and
-- clawback, append-only.
CREATE TABLE store_order_events (
    id              bigserial   PRIMARY KEY,
    order_id        bigint      NOT NULL REFERENCES store_orders (id),
    at              timestamptz NOT NULL DEFAULT now(),
    kind            text        NOT NULL,
    detail          jsonb       NOT NULL DEFAULT '{}',
    stripe_event_id text
);
CREATE INDEX store_order_events_order ON store_order_events (order_id, id);
CREATE TRIGGER store_order_events_append_only BEFORE UPDATE OR DELETE ON store_order_events
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Every Stripe event received, once by its id, kept with its payload.
-- Events are applied after they are recorded; one that cannot be matched to
-- an order yet waits (matched later through its payment intent).
CREATE TABLE stripe_events (
    id             text        PRIMARY KEY,
    type           text        NOT NULL,
    created        timestamptz NOT NULL,
    payload        jsonb       NOT NULL,
    payment_intent text,
    order_id       bigint      REFERENCES store_orders (id),
    received_at    timestamptz NOT NULL DEFAULT now(),
    via            text        NOT NULL DEFAULT 'webhook' CHECK (via IN ('webhook', 'reconciliation')),
    applied_at     timestamptz,
    attempts       integer     NOT NULL DEFAULT 0,
    last_error     text        NOT NULL DEFAULT ''
);
CREATE INDEX stripe_events_unapplied ON stripe_events (received_at) WHERE applied_at IS NULL;
CREATE INDEX stripe_events_payment_intent ON stripe_events (payment_intent) WHERE order_id IS NULL;
CREATE INDEX stripe_events_order ON stripe_events (order_id);

-- Accounts flagged for support: chargebacks and refunds the policy could
-- not fully claw back.
CREATE TABLE account_flags (
    id         bigserial   PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES accounts (id),
    reason     text        NOT NULL,
    order_id   bigint      REFERENCES store_orders (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, reason)
);
CREATE INDEX account_flags_account ON account_flags (account_id, id DESC);

-- Console permissions for the store, added to deployments whose roles were
-- seeded before it.
INSERT INTO rbac_rules (ptype, v0, v1, v2)
SELECT 'p', r.role, r.obj, r.act
FROM (VALUES ('admin', 'store', 'view'), ('admin', 'store', 'edit'), ('admin', 'orders', 'view'), ('admin', 'orders', 'refund'),
             ('designer', 'store', 'view'), ('designer', 'store', 'edit'),
             ('support', 'store', 'view'), ('support', 'orders', 'view'), ('support', 'orders', 'refund'),
             ('analyst', 'store', 'view'), ('analyst', 'orders', 'view')) AS r (role, obj, act)
WHERE EXISTS (SELECT 1 FROM rbac_rules)
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM rbac_rules WHERE ptype = 'p' AND v1 IN ('store', 'orders');
DROP TABLE account_flags, stripe_events, store_order_events, store_limits, store_orders;
ALTER TABLE accounts DROP COLUMN store_country;
ALTER TABLE catalog_revisions DROP CONSTRAINT catalog_revisions_kind_check;
ALTER TABLE catalog_revisions ADD CONSTRAINT catalog_revisions_kind_check
    CHECK (kind IN ('currency', 'item', 'recipe'));
DROP TABLE store_prices, store_regions, store_products;
