package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"

	"github.com/musterhq/muster/domain/db"
)

// Reconciled counts what one Reconcile pass did.
type Reconciled struct {
	Listed    int // events Stripe listed
	Recovered int // of them, events no webhook had delivered
	Applied   int // waiting events applied
	Repaired  int // open orders moved by their checkout's state
	Expired   int // orders whose checkout never opened
}

// Reconcile repairs what lost or failed webhooks left behind: it lists
// Stripe's events since since and records those never received (applied
// like any webhook), applies recorded events that are still waiting, reads
// the checkout of every order still open after grace, and expires orders
// whose checkout was never created an hour on. Several workers may run it
// at once: every step is idempotent.
func (s *Store) Reconcile(ctx context.Context, since time.Time, grace time.Duration) (Reconciled, error) {
	var out Reconciled
	if s.payments == nil {
		return out, nil
	}
	raw, err := s.payments.Events(ctx, since)
	if err != nil {
		return out, err
	}
	out.Listed = len(raw)
	for _, r := range raw {
		var ev stripe.Event
		if err := json.Unmarshal(r, &ev); err != nil || ev.ID == "" {
			continue
		}
		rec, err := s.RecordEvent(ctx, ev, "reconciliation")
		if err != nil {
			return out, err
		}
		if rec.New {
			out.Recovered++
		}
	}
	var waiting []string
	const wq = `SELECT id FROM stripe_events WHERE applied_at IS NULL AND received_at < now() - $1::interval
		AND attempts < 50 ORDER BY received_at LIMIT 500`
	if err := s.conn.SelectContext(ctx, &waiting, wq, grace.String()); err != nil {
		return out, fmt.Errorf("list waiting events: %w", err)
	}
	for _, id := range waiting {
		ok, err := s.ApplyEvent(ctx, id)
		if err != nil {
			s.log.Warn("reconcile: event not applied", "event", id, "err", err)
		}
		if ok {
			out.Applied++
		}
	}
	var waitingNow int
	if err := s.conn.GetContext(ctx, &waitingNow, `SELECT count(*) FROM stripe_events WHERE applied_at IS NULL AND attempts < 50`); err == nil {
		s.metrics.waiting.Set(float64(waitingNow))
	}
	var open []Order
	const oq = `SELECT ` + orderCols + ` FROM store_orders WHERE status IN ('pending', 'processing') AND kind = 'real'
		AND created_at < now() - $1::interval ORDER BY created_at LIMIT 500`
	if err := s.conn.SelectContext(ctx, &open, oq, grace.String()); err != nil {
		return out, fmt.Errorf("list open orders: %w", err)
	}
	for _, o := range open {
		if o.CheckoutID == nil {
			if time.Since(o.CreatedAt) < time.Hour {
				continue
			}
			if err := s.expireUnopened(ctx, o.ID); err != nil {
				return out, err
			}
			out.Expired++
			continue
		}
		cs, err := s.payments.CheckoutSession(ctx, *o.CheckoutID)
		if err != nil {
			s.log.Warn("reconcile: checkout not read", "order", o.PublicID, "err", err)
			continue
		}
		moved, err := s.applySession(ctx, o.ID, cs)
		if err != nil {
			return out, err
		}
		if moved {
			out.Repaired++
		}
	}
	return out, nil
}

// applySession moves an open order by its checkout's state as read from
// Stripe, like the event that would have said so.
func (s *Store) applySession(ctx context.Context, orderID int64, cs CheckoutSession) (bool, error) {
	f := facts{eventType: "reconciled", checkout: cs.ID, paymentIntent: cs.PaymentIntent}
	switch {
	case cs.Status == "complete" && (cs.PaymentStatus == "paid" || cs.PaymentStatus == "no_payment_required"):
		f.kind = factPaid
	case cs.Status == "expired":
		f.kind = factExpired
	default:
		return false, nil
	}
	moved := false
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		o, err := loadOrder(ctx, tx, "id = $1", "FOR UPDATE", orderID)
		if err != nil {
			return err
		}
		if o.Status != StatusPending && o.Status != StatusProcessing {
			return nil
		}
		if cs.OrderID != "" && cs.OrderID != o.PublicID {
			return fmt.Errorf("%w: checkout %s belongs to order %s", ErrInvalidPayload, cs.ID, cs.OrderID)
		}
		moved = true
		return s.applyFacts(ctx, tx, &o, f, "")
	})
	return moved, err
}

// expireUnopened expires an order whose checkout was never created.
func (s *Store) expireUnopened(ctx context.Context, orderID int64) error {
	return db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		o, err := loadOrder(ctx, tx, "id = $1", "FOR UPDATE", orderID)
		if errors.Is(err, ErrNotFound) || (err == nil && (o.Status != StatusPending || o.CheckoutID != nil)) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.applyFacts(ctx, tx, &o, facts{kind: factExpired, eventType: "checkout_never_opened"}, "")
	})
}
