package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/inventory"
)

// Order statuses. A virtual purchase is completed at once (revoked if a
// refund policy later undoes it); a real-money order starts pending.
const (
	StatusCompleted  = "completed"
	StatusRevoked    = "revoked"
	StatusPending    = "pending"    // checkout created, not paid
	StatusProcessing = "processing" // paid by a method that settles later
	StatusPaid       = "paid"       // paid and credited (possibly partly refunded)
	StatusFailed     = "failed"     // the delayed payment failed
	StatusExpired    = "expired"    // the checkout expired unpaid
	StatusRefunded   = "refunded"   // refunded in full
)

// Order is one purchase.
type Order struct {
	ID             int64            `db:"id" json:"-"`
	PublicID       string           `db:"public_id" json:"id"`
	AccountID      int64            `db:"account_id" json:"-"`
	ProductID      string           `db:"product_id" json:"product_id"`
	ProductVersion int              `db:"product_version" json:"product_version"`
	Kind           string           `db:"kind" json:"kind"` // virtual or real
	Status         string           `db:"status" json:"status"`
	Country        string           `db:"country" json:"country"`
	PriceCurrency  string           `db:"price_currency" json:"price_currency"`
	PriceAmount    int64            `db:"price_amount" json:"price_amount"`
	GrantCurrency  *string          `db:"grant_currency" json:"grant_currency,omitempty"`
	GrantAmount    int64            `db:"grant_amount" json:"grant_amount,omitempty"`
	ItemsJSON      []byte           `db:"items" json:"-"`
	Items          []inventory.Line `db:"-" json:"items,omitempty"`
	CountsLimit    bool             `db:"counts_limit" json:"-"`
	CheckoutID     *string          `db:"checkout_id" json:"-"`
	CheckoutURL    string           `db:"checkout_url" json:"checkout_url,omitempty"`
	PaymentIntent  *string          `db:"payment_intent" json:"-"`
	ChargeID       *string          `db:"charge_id" json:"-"`
	Paid           bool             `db:"paid" json:"-"`
	Credited       int64            `db:"credited" json:"credited,omitempty"`
	RefundedAmount int64            `db:"refunded_amount" json:"refunded_amount,omitempty"`
	DisputedAmount int64            `db:"disputed_amount" json:"disputed_amount,omitempty"`
	DisputeStatus  string           `db:"dispute_status" json:"dispute_status,omitempty"`
	ClawedBack     int64            `db:"clawed_back" json:"clawed_back,omitempty"`
	Shortfall      int64            `db:"shortfall" json:"shortfall,omitempty"`
	Moves          int              `db:"moves" json:"-"`
	CreatedAt      time.Time        `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time        `db:"updated_at" json:"updated_at"`
	Replayed       bool             `db:"-" json:"replayed"`
	trail          []trailEvent     // written by flushTrail
}

// trailEvent is a line of an order's trail not yet written.
type trailEvent struct {
	kind, stripeEvent string
	detail            map[string]any
}

// note adds a line to the order's trail, written by flushTrail with the
// order's other changes.
func (o *Order) note(kind, stripeEvent string, detail map[string]any) {
	o.trail = append(o.trail, trailEvent{kind: kind, stripeEvent: stripeEvent, detail: detail})
}

// trailSQL writes trail lines: orders, kinds, details, Stripe event ids ("": none).
const trailSQL = `INSERT INTO store_order_events (order_id, kind, detail, stripe_event_id)
	SELECT o, k, d, NULLIF(e, '') FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::text[]) AS t (o, k, d, e)`

// flushTrail writes the noted lines in one statement.
func flushTrail(ctx context.Context, tx *sqlx.Tx, o *Order) error {
	if len(o.trail) == 0 {
		return nil
	}
	ids := make(pq.Int64Array, len(o.trail))
	kinds := make(pq.StringArray, len(o.trail))
	details := make(pq.StringArray, len(o.trail))
	events := make(pq.StringArray, len(o.trail))
	for i, t := range o.trail {
		b, err := json.Marshal(t.detail)
		if err != nil {
			return err
		}
		ids[i], kinds[i], details[i], events[i] = o.ID, t.kind, string(b), t.stripeEvent
	}
	_, err := tx.ExecContext(ctx, trailSQL, ids, kinds, details, events)
	o.trail = nil
	return err
}

const orderCols = `id, public_id, account_id, product_id, product_version, kind, status, country, price_currency, price_amount,
	grant_currency, grant_amount, items, counts_limit, checkout_id, checkout_url, payment_intent, charge_id, paid, credited,
	refunded_amount, disputed_amount, dispute_status, clawed_back, shortfall, moves, created_at, updated_at`

func (o *Order) decode() error {
	if len(o.ItemsJSON) == 0 {
		return nil
	}
	if err := json.Unmarshal(o.ItemsJSON, &o.Items); err != nil {
		return fmt.Errorf("order %s: decode items: %w", o.PublicID, err)
	}
	if len(o.Items) == 0 {
		o.Items = nil
	}
	return nil
}

// loadOrder reads one order by where (a condition on $1), locked with lock.
func loadOrder(ctx context.Context, q sqlx.QueryerContext, where, lock string, arg any) (Order, error) {
	var o Order
	err := sqlx.GetContext(ctx, q, &o, `SELECT `+orderCols+` FROM store_orders WHERE `+where+` `+lock, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("load order: %w", err)
	}
	return o, o.decode()
}

// orderByPublicID reads the order with public id id; an id that is not a
// UUID matches none.
func orderByPublicID(ctx context.Context, q sqlx.QueryerContext, id, lock string) (Order, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return Order{}, ErrNotFound
	}
	return loadOrder(ctx, q, "public_id = $1", lock, u.String())
}

// orderKey scopes a player's idempotency key to the player, so that two
// players' keys never collide.
func orderKey(accountID int64, key string) (string, error) {
	if key == "" || len(key) > 200 {
		return "", fmt.Errorf("%w: the idempotency key must be 1 to 200 bytes", inventory.ErrInvalid)
	}
	return "buy:" + strconv.FormatInt(accountID, 10) + ":" + key, nil
}

func requestHash(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// newOrder is an order about to be recorded.
type newOrder struct {
	key, kind, status, country string
	hash                       []byte
	accountID                  int64
	product                    Product
	priceCurrency              string
	priceAmount                int64
	grantCurrency              *string
	grantAmount                int64
}

// errProductChanged means the product was edited since the caller loaded
// it: reload it and try again.
var errProductChanged = errors.New("the product changed while it was being bought")

// insertOrder records o unless its key exists; then it returns the earlier
// order (Replayed) or ErrKeyReused. A concurrent insert with the same key
// waits until the first commits. The insert also checks that the product is
// still at the version the caller priced it from (errProductChanged).
func (s *Store) insertOrder(ctx context.Context, tx *sqlx.Tx, n newOrder) (Order, error) {
	items, err := json.Marshal(n.product.Items)
	if err != nil {
		return Order{}, err
	}
	if n.product.Items == nil {
		items = []byte("[]")
	}
	const q = `INSERT INTO store_orders (public_id, idem_key, request_hash, account_id, product_id, product_version, kind, status,
		country, price_currency, price_amount, grant_currency, grant_amount, items, counts_limit)
		SELECT $1::uuid, $2, $3::bytea, $4::bigint, $5, $6::int, $7, $8, $9, $10, $11::bigint, $12, $13::bigint, $14::jsonb, $15::boolean
		WHERE EXISTS (SELECT 1 FROM store_products WHERE id = $5 AND version = $6::int)
		ON CONFLICT (idem_key) DO NOTHING RETURNING ` + orderCols
	var o Order
	err = s.stmts.TxGet(ctx, tx, &o, q, uuid.NewString(), n.key, n.hash, n.accountID, n.product.ID, n.product.Version,
		n.kind, n.status, n.country, n.priceCurrency, n.priceAmount, n.grantCurrency, n.grantAmount, items, n.product.PurchaseLimit > 0)
	if err == nil {
		return o, o.decode()
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("record order: %w", err)
	}
	o, err = replayOrder(ctx, tx, n.key, n.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errProductChanged
	}
	return o, err
}

func replayOrder(ctx context.Context, q sqlx.QueryerContext, key string, hash []byte) (Order, error) {
	var prev struct {
		Order
		Hash []byte `db:"request_hash"`
	}
	err := sqlx.GetContext(ctx, q, &prev, `SELECT `+orderCols+`, request_hash FROM store_orders WHERE idem_key = $1`, key)
	if err != nil {
		return Order{}, fmt.Errorf("load order by key: %w", err)
	}
	if string(prev.Hash) != string(hash) {
		return Order{}, ErrKeyReused
	}
	o := prev.Order
	o.Replayed = true
	return o, o.decode()
}

// takeLimit holds one of the player's purchases of a limited product.
func (s *Store) takeLimit(ctx context.Context, tx *sqlx.Tx, accountID int64, p Product) error {
	if p.PurchaseLimit <= 0 {
		return nil
	}
	const q = `INSERT INTO store_limits AS l (account_id, product_id, purchased) VALUES ($1, $2, 1)
		ON CONFLICT (account_id, product_id) DO UPDATE SET purchased = l.purchased + 1 WHERE l.purchased < $3
		RETURNING purchased`
	var n int
	err := s.stmts.TxGet(ctx, tx, &n, q, accountID, p.ID, p.PurchaseLimit)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLimitReached
	}
	return err
}

// releaseLimit gives back the place an order held when it failed or expired.
func releaseLimit(ctx context.Context, tx *sqlx.Tx, o Order) error {
	if !o.CountsLimit {
		return nil
	}
	const q = `UPDATE store_limits SET purchased = purchased - 1 WHERE account_id = $1 AND product_id = $2 AND purchased > 0`
	_, err := tx.ExecContext(ctx, q, o.AccountID, o.ProductID)
	return err
}

// event appends to an order's trail.
func event(ctx context.Context, tx *sqlx.Tx, orderID int64, kind, stripeEvent string, detail map[string]any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var ev *string
	if stripeEvent != "" {
		ev = &stripeEvent
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO store_order_events (order_id, kind, detail, stripe_event_id) VALUES ($1, $2, $3, $4)`,
		orderID, kind, b, ev)
	return err
}
