package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// ErrRefundRequested answers a refund whose key was already used for the
// order: that request stands, and nothing was asked again.
var ErrRefundRequested = errors.New("this refund was already requested")

// RefundRequest is support's refund of a real-money order.
type RefundRequest struct {
	OrderID string // public id
	Key     string // idempotency key of the request (a console form), 1 to 100 bytes
	Amount  int64  // in the order's money, smallest unit; 0 refunds the rest
	Staff   string // who asks, for the order's trail
	Reason  string
	// Also runs in the transaction that records the request (the console
	// writes its audit row there).
	Also func(tx *sqlx.Tx, o Order, amount int64) error
}

// Refund asks Stripe to refund (part of) a paid order. A request sent twice
// (its key) refunds once: the second answers ErrRefundRequested and records
// nothing. Stripe's idempotency key names the order, the amount refunded so
// far and this amount, so two staff sending the same refund at once refund
// once too (the second also answers ErrRefundRequested). The currency is
// clawed back when Stripe's charge.refunded event arrives (ApplyEvent),
// whatever started the refund: the console, Stripe's dashboard or the bank.
func (s *Store) Refund(ctx context.Context, r RefundRequest) (Order, error) {
	if s.payments == nil {
		return Order{}, ErrPaymentsOff
	}
	if r.Key == "" || len(r.Key) > 100 {
		return Order{}, fmt.Errorf("%w: the request needs a key of 1 to 100 bytes", ErrInvalidRefund)
	}
	o, err := orderByPublicID(ctx, s.conn, r.OrderID, "")
	if err != nil {
		return o, err
	}
	if done, err := refundRequested(ctx, s.conn, o.ID, r.Key, ""); err != nil || done {
		if done {
			err = ErrRefundRequested
		}
		return o, err
	}
	if o.Kind != "real" || !o.Paid || o.PaymentIntent == nil {
		return o, fmt.Errorf("%w: only paid real-money orders are refunded (this one is %s %s)", ErrNotRefundable, o.Kind, o.Status)
	}
	left := o.PriceAmount - o.RefundedAmount - o.DisputedAmount
	if left <= 0 {
		return o, fmt.Errorf("%w: nothing is left to refund", ErrNotRefundable)
	}
	amount := r.Amount
	if amount == 0 {
		amount = left
	}
	if amount < 0 || amount > left {
		return o, fmt.Errorf("%w: the amount must be 1 to %d", ErrInvalidRefund, left)
	}
	if len(r.Reason) < 3 || len(r.Reason) > 500 {
		return o, fmt.Errorf("%w: a reason of 3 to 500 characters is required", ErrInvalidRefund)
	}
	// Stripe's key names what this refund starts from, so that two staff
	// sending the same refund before Stripe confirms the first refund once.
	stripeKey := "muster-refund-" + o.PublicID + "-" + strconv.FormatInt(o.RefundedAmount, 10) + "-" + strconv.FormatInt(amount, 10)
	refundID, err := s.payments.Refund(ctx, *o.PaymentIntent, amount, stripeKey)
	if err != nil {
		return o, err
	}
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if _, err := loadOrder(ctx, tx, "id = $1", "FOR UPDATE", o.ID); err != nil {
			return err
		}
		if done, err := refundRequested(ctx, tx, o.ID, r.Key, refundID); err != nil || done {
			if done {
				err = ErrRefundRequested
			}
			return err
		}
		if err := event(ctx, tx, o.ID, "refund_requested", "", map[string]any{
			"amount": amount, "currency": o.PriceCurrency, "refund": refundID, "staff": r.Staff, "reason": r.Reason, "key": r.Key,
		}); err != nil {
			return err
		}
		if r.Also != nil {
			return r.Also(tx, o, amount)
		}
		return nil
	})
	return o, err
}

// RefundRequested reports whether a refund with key was requested for the
// order (by its internal id).
func (s *Store) RefundRequested(ctx context.Context, orderID int64, key string) (bool, error) {
	return refundRequested(ctx, s.conn, orderID, key, "")
}

// refundRequested reports whether the order's trail has a refund request
// with key, or for Stripe's refund refundID.
func refundRequested(ctx context.Context, q sqlx.QueryerContext, orderID int64, key, refundID string) (bool, error) {
	var done bool
	const sq = `SELECT EXISTS (SELECT 1 FROM store_order_events WHERE order_id = $1 AND kind = 'refund_requested'
		AND (detail->>'key' = $2 OR ($3 <> '' AND detail->>'refund' = $3)))`
	if err := sqlx.GetContext(ctx, q, &done, sq, orderID, key, refundID); err != nil {
		return false, fmt.Errorf("look up refund request: %w", err)
	}
	return done, nil
}
