package bots

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// stripeSigner plays Stripe's part after a player paid on the Checkout
// page (which the bots do not load): it writes the
// checkout.session.completed event Stripe would send for the order and
// signs it with the endpoint's webhook secret as Stripe signs it
// (Stripe-Signature: t=...,v1=HMAC-SHA256 of "t.body"), as
// domain/storetest does in the store's tests.
type stripeSigner struct {
	secret string
	run    string // makes ids unique across runs
	seq    atomic.Int64
}

func (s *stripeSigner) id(prefix string) string {
	return fmt.Sprintf("%s_bots%s%07d", prefix, s.run, s.seq.Add(1))
}

// paidOrder is a real-money order the player paid.
type paidOrder struct {
	OrderID  string
	Checkout string // the order's Checkout Session; empty: a made-up one
	Amount   int64
	Currency string
}

// completed is the signed body and Stripe-Signature header of
// checkout.session.completed (payment_status paid) for o.
func (s *stripeSigner) completed(o paidOrder, now time.Time) (body []byte, signature string, err error) {
	checkout := o.Checkout
	if checkout == "" {
		checkout = s.id("cs")
	}
	session := map[string]any{"id": checkout, "object": "checkout.session", "mode": "payment", "status": "complete",
		"payment_status": "paid", "payment_intent": s.id("pi"), "client_reference_id": o.OrderID,
		"metadata": map[string]string{"order_id": o.OrderID}, "amount_total": o.Amount, "currency": o.Currency}
	raw, err := json.Marshal(session)
	if err != nil {
		return nil, "", err
	}
	ev := stripe.Event{ID: s.id("evt"), Object: "event", Type: "checkout.session.completed", Created: now.Unix(),
		APIVersion: stripe.APIVersion, Data: &stripe.EventData{Raw: raw}}
	body, err = json.Marshal(ev)
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: s.secret, Timestamp: now})
	return body, signed.Header, nil
}
