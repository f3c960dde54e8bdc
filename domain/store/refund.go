package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// RefundRequest is support's refund of a real-money order.
type RefundRequest struct {
	OrderID string // public id
	Amount  int64  // in the order's money, smallest unit; 0 refunds the rest
	Staff   string // who asks, for the order's trail
	Reason  string
	// Also runs in the transaction that records the request (the console
	// writes its audit row there).
	Also func(tx *sqlx.Tx, o Order, amount int64) error
}

// Refund asks Stripe to refund (part of) a paid order. The Stripe
// idempotency key names the order, the amount already refunded and this
// amount, so a double submit refunds once. The currency is clawed back when
// Stripe's charge.refunded event arrives (ApplyEvent), whatever started the
// refund: this screen, Stripe's dashboard or the bank.
func (s *Store) Refund(ctx context.Context, r RefundRequest) (Order, error) {
	if s.payments == nil {
		return Order{}, ErrPaymentsOff
	}
	o, err := orderByPublicID(ctx, s.conn, r.OrderID, "")
	if err != nil {
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
	key := "muster-refund-" + o.PublicID + "-" + strconv.FormatInt(o.RefundedAmount, 10) + "-" + strconv.FormatInt(amount, 10)
	refundID, err := s.payments.Refund(ctx, *o.PaymentIntent, amount, key)
	if err != nil {
		return o, err
	}
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if err := event(ctx, tx, o.ID, "refund_requested", "", map[string]any{
			"amount": amount, "currency": o.PriceCurrency, "refund": refundID, "staff": r.Staff, "reason": r.Reason,
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
