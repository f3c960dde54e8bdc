package store

import (
	"encoding/json"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// factKind is what an event tells about an order.
type factKind int

const (
	factNone       factKind = iota // an event the store does not use
	factPaid                       // the money arrived
	factProcessing                 // paid by a method that settles later
	factFailed                     // the delayed payment failed
	factExpired                    // the checkout expired unpaid
	factRefund                     // the charge was refunded (in part)
	factDispute                    // a dispute opened, changed or closed
)

// facts is what the store reads from one Stripe event.
type facts struct {
	kind              factKind
	eventType         string
	orderID           string // from metadata or client_reference_id
	checkout          string
	paymentIntent     string
	charge            string
	amountRefunded    int64 // cumulative, as the charge reports it
	disputeStatus     string
	disputeAmount     int64
	disputeReinstated bool
}

// parseFacts reads the facts of an event. Events of types the store does
// not use give factNone; a used type whose object does not decode is
// ErrInvalidPayload.
func parseFacts(ev stripe.Event) (facts, error) {
	f := facts{eventType: string(ev.Type)}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return f, fmt.Errorf("%w: event %s has no object", ErrInvalidPayload, ev.ID)
	}
	raw := ev.Data.Raw
	decode := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%w: event %s: %v", ErrInvalidPayload, ev.ID, err)
		}
		return nil
	}
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded",
		"checkout.session.async_payment_failed", "checkout.session.expired":
		var cs stripe.CheckoutSession
		if err := decode(&cs); err != nil {
			return f, err
		}
		s := session(&cs)
		f.orderID, f.checkout, f.paymentIntent = s.OrderID, s.ID, s.PaymentIntent
		switch {
		case ev.Type == "checkout.session.expired":
			f.kind = factExpired
		case ev.Type == "checkout.session.async_payment_failed":
			f.kind = factFailed
		case ev.Type == "checkout.session.async_payment_succeeded" || s.PaymentStatus == "paid" || s.PaymentStatus == "no_payment_required":
			f.kind = factPaid
		default:
			f.kind = factProcessing
		}
	case "payment_intent.succeeded", "payment_intent.processing":
		var pi stripe.PaymentIntent
		if err := decode(&pi); err != nil {
			return f, err
		}
		f.orderID, f.paymentIntent = pi.Metadata["order_id"], pi.ID
		f.kind = factProcessing
		if pi.Status == stripe.PaymentIntentStatusSucceeded || ev.Type == "payment_intent.succeeded" {
			f.kind = factPaid
		}
	case "charge.refunded", "charge.refund.updated":
		var ch stripe.Charge
		if err := decode(&ch); err != nil {
			return f, err
		}
		if ev.Type == "charge.refund.updated" {
			return f, nil // the charge.refunded event carries the amount
		}
		f.kind, f.charge, f.orderID, f.amountRefunded = factRefund, ch.ID, ch.Metadata["order_id"], ch.AmountRefunded
		if ch.PaymentIntent != nil {
			f.paymentIntent = ch.PaymentIntent.ID
		}
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
		"charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated":
		var d stripe.Dispute
		if err := decode(&d); err != nil {
			return f, err
		}
		f.kind, f.disputeStatus, f.disputeAmount = factDispute, string(d.Status), d.Amount
		f.disputeReinstated = ev.Type == "charge.dispute.funds_reinstated"
		if f.disputeStatus == "" {
			f.disputeStatus = "needs_response"
		}
		if d.Charge != nil {
			f.charge = d.Charge.ID
		}
		if d.PaymentIntent != nil {
			f.paymentIntent = d.PaymentIntent.ID
		}
		f.orderID = d.Metadata["order_id"]
	}
	return f, nil
}
