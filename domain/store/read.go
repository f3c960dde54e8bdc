package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Orders returns a player's orders, newest first, older than order id
// before (0: from the newest), at most limit (1 to 100).
func (s *Store) Orders(ctx context.Context, accountID, before int64, limit int) ([]Order, error) {
	if limit < 1 || limit > 100 {
		limit = 100
	}
	out := []Order{}
	const q = `SELECT ` + orderCols + ` FROM store_orders WHERE account_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`
	if err := s.conn.SelectContext(ctx, &out, q, accountID, before, limit); err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	for i := range out {
		if err := out[i].decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Order returns one order by its public id.
func (s *Store) Order(ctx context.Context, publicID string) (Order, error) {
	return orderByPublicID(ctx, s.conn, publicID, "")
}

// OrderEvent is one line of an order's trail.
type OrderEvent struct {
	At            time.Time       `db:"at" json:"at"`
	Kind          string          `db:"kind" json:"kind"`
	Detail        json.RawMessage `db:"detail" json:"detail"`
	StripeEventID *string         `db:"stripe_event_id" json:"stripe_event_id,omitempty"`
}

// OrderEvents returns an order's trail, oldest first.
func (s *Store) OrderEvents(ctx context.Context, orderID int64) ([]OrderEvent, error) {
	var out []OrderEvent
	const q = `SELECT at, kind, detail, stripe_event_id FROM store_order_events WHERE order_id = $1 ORDER BY id LIMIT 500`
	if err := s.conn.SelectContext(ctx, &out, q, orderID); err != nil {
		return nil, fmt.Errorf("list order events: %w", err)
	}
	return out, nil
}

// Flag is an account flagged for support by the store.
type Flag struct {
	Reason    string    `db:"reason" json:"reason"`
	OrderID   *string   `db:"order_id" json:"order_id,omitempty"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Flags returns a player's store flags, newest first.
func (s *Store) Flags(ctx context.Context, accountID int64) ([]Flag, error) {
	var out []Flag
	const q = `SELECT f.reason, o.public_id::text AS order_id, f.created_at FROM account_flags f
		LEFT JOIN store_orders o ON o.id = f.order_id WHERE f.account_id = $1 ORDER BY f.id DESC LIMIT 100`
	if err := s.conn.SelectContext(ctx, &out, q, accountID); err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}
	return out, nil
}

// Revenue is money taken on one day for one product in one country and
// currency, net of refunds and disputes.
type Revenue struct {
	Day      time.Time `db:"day" json:"day"`
	Product  string    `db:"product_id" json:"product_id"`
	Country  string    `db:"country" json:"country"`
	Currency string    `db:"currency" json:"currency"`
	Orders   int       `db:"orders" json:"orders"`
	Gross    int64     `db:"gross" json:"gross"`
	Net      int64     `db:"net" json:"net"`
}

// RevenueByDay sums paid real-money orders created in the last days days
// (1 to 90), newest day first.
func (s *Store) RevenueByDay(ctx context.Context, days int) ([]Revenue, error) {
	if days < 1 || days > 90 {
		days = 30
	}
	var out []Revenue
	const q = `SELECT date_trunc('day', created_at) AS day, product_id, country, price_currency AS currency,
		count(*) AS orders, sum(price_amount) AS gross,
		sum(price_amount - refunded_amount - disputed_amount) AS net
		FROM store_orders WHERE kind = 'real' AND paid AND created_at >= date_trunc('day', now()) - make_interval(days => $1 - 1)
		GROUP BY 1, 2, 3, 4 ORDER BY 1 DESC, 6 DESC LIMIT 1000`
	if err := s.conn.SelectContext(ctx, &out, q, days); err != nil {
		return nil, fmt.Errorf("revenue by day: %w", err)
	}
	return out, nil
}
