package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Payments is what the store asks of the payment provider. Stripe
// implements it; every call carries an idempotency key where Stripe takes
// one, so a retried call never charges or refunds twice.
type Payments interface {
	// CreateCheckout opens a hosted checkout for one order.
	CreateCheckout(ctx context.Context, c CheckoutRequest) (CheckoutSession, error)
	// CheckoutSession reads a checkout's current state.
	CheckoutSession(ctx context.Context, id string) (CheckoutSession, error)
	// PaymentIntentOrder reads the order id a payment intent carries.
	PaymentIntentOrder(ctx context.Context, id string) (string, error)
	// Refund refunds amount of a payment (0: the rest of it).
	Refund(ctx context.Context, paymentIntent string, amount int64, key string) (string, error)
	// Events lists the events created since t, oldest first, as raw JSON.
	Events(ctx context.Context, since time.Time) ([]json.RawMessage, error)
}

// CheckoutRequest is one order's checkout.
type CheckoutRequest struct {
	OrderID     string // public order id, carried in metadata
	Key         string // Stripe idempotency key
	Name        string // what the player sees
	Currency    string
	Amount      int64
	SuccessURL  string
	CancelURL   string
	CustomerRef string // the player's public id
}

// CheckoutSession is the part of a Stripe Checkout Session the store uses.
type CheckoutSession struct {
	ID            string
	URL           string
	Status        string // open, complete, expired
	PaymentStatus string // paid, unpaid, no_payment_required
	PaymentIntent string
	OrderID       string
}

// Stripe calls Stripe's API through stripe-go.
type Stripe struct {
	api     *client.API
	timeout time.Duration
}

// NewStripe returns a Stripe client with secretKey; baseURL overrides
// Stripe's API address (stripe-mock in tests). timeout bounds each call,
// its retries included.
func NewStripe(secretKey, baseURL string, timeout time.Duration) *Stripe {
	cfg := &stripe.BackendConfig{
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if baseURL != "" {
		cfg.URL = stripe.String(strings.TrimRight(baseURL, "/"))
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return &Stripe{api: client.New(secretKey, backends), timeout: timeout}
}

// bound limits a call to the client's timeout.
func (s *Stripe) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

func providerError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s (%s)", ErrPaymentFailed, se.Msg, se.Code)
	}
	return fmt.Errorf("%w: %v", ErrPaymentFailed, err)
}

// CreateCheckout implements Payments.
func (s *Stripe) CreateCheckout(ctx context.Context, c CheckoutRequest) (CheckoutSession, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(c.SuccessURL),
		CancelURL:         stripe.String(c.CancelURL),
		ClientReferenceID: stripe.String(c.OrderID),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(c.Currency),
				UnitAmount:  stripe.Int64(c.Amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(c.Name)},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Metadata: map[string]string{"order_id": c.OrderID, "player": c.CustomerRef},
		},
	}
	params.AddMetadata("order_id", c.OrderID)
	params.AddMetadata("player", c.CustomerRef)
	params.SetIdempotencyKey(c.Key)
	params.Context = ctx
	cs, err := s.api.CheckoutSessions.New(params)
	if err != nil {
		return CheckoutSession{}, providerError(err)
	}
	return session(cs), nil
}

func session(cs *stripe.CheckoutSession) CheckoutSession {
	out := CheckoutSession{ID: cs.ID, URL: cs.URL, Status: string(cs.Status), PaymentStatus: string(cs.PaymentStatus),
		OrderID: cs.Metadata["order_id"]}
	if out.OrderID == "" {
		out.OrderID = cs.ClientReferenceID
	}
	if cs.PaymentIntent != nil {
		out.PaymentIntent = cs.PaymentIntent.ID
	}
	return out
}

// CheckoutSession implements Payments.
func (s *Stripe) CheckoutSession(ctx context.Context, id string) (CheckoutSession, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	params := &stripe.CheckoutSessionParams{}
	params.Context = ctx
	cs, err := s.api.CheckoutSessions.Get(id, params)
	if err != nil {
		return CheckoutSession{}, providerError(err)
	}
	return session(cs), nil
}

// PaymentIntentOrder implements Payments.
func (s *Stripe) PaymentIntentOrder(ctx context.Context, id string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	params := &stripe.PaymentIntentParams{}
	params.Context = ctx
	pi, err := s.api.PaymentIntents.Get(id, params)
	if err != nil {
		return "", providerError(err)
	}
	return pi.Metadata["order_id"], nil
}

// Refund implements Payments.
func (s *Stripe) Refund(ctx context.Context, paymentIntent string, amount int64, key string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	params := &stripe.RefundParams{PaymentIntent: stripe.String(paymentIntent)}
	if amount > 0 {
		params.Amount = stripe.Int64(amount)
	}
	params.SetIdempotencyKey(key)
	params.Context = ctx
	r, err := s.api.Refunds.New(params)
	if err != nil {
		return "", providerError(err)
	}
	return r.ID, nil
}

// Events implements Payments: at most 1,000 events, the page size Stripe
// allows ten times.
func (s *Stripe) Events(ctx context.Context, since time.Time) ([]json.RawMessage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Limit = stripe.Int64(100)
	params.Context = ctx
	it := s.api.Events.List(params)
	var out []json.RawMessage
	for it.Next() && len(out) < 1000 {
		b, err := json.Marshal(it.Event())
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := it.Err(); err != nil {
		return nil, providerError(err)
	}
	// Stripe lists newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Webhooks verifies Stripe's webhook signatures against every secret in
// use (more than one while a secret is rotated).
type Webhooks struct {
	Secrets   []string
	Tolerance time.Duration // default 5 minutes
}

// Verify checks payload's Stripe-Signature header and decodes the event.
func (w Webhooks) Verify(payload []byte, header string) (stripe.Event, error) {
	tolerance := w.Tolerance
	if tolerance <= 0 {
		tolerance = webhook.DefaultTolerance
	}
	if len(w.Secrets) == 0 {
		return stripe.Event{}, ErrPaymentsOff
	}
	var last error
	for _, secret := range w.Secrets {
		ev, err := webhook.ConstructEventWithOptions(payload, header, secret,
			webhook.ConstructEventOptions{Tolerance: tolerance, IgnoreAPIVersionMismatch: true})
		if err == nil {
			if ev.ID == "" || ev.Type == "" {
				return ev, fmt.Errorf("%w: no event id or type", ErrInvalidPayload)
			}
			return ev, nil
		}
		last = err
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // the header or timestamp is bad for every secret alike
		}
	}
	if errors.Is(last, webhook.ErrTooOld) {
		return stripe.Event{}, fmt.Errorf("%w: the timestamp is outside the tolerance", ErrBadSignature)
	}
	if errors.Is(last, webhook.ErrNotSigned) || errors.Is(last, webhook.ErrInvalidHeader) || errors.Is(last, webhook.ErrNoValidSignature) {
		return stripe.Event{}, fmt.Errorf("%w: %v", ErrBadSignature, last)
	}
	return stripe.Event{}, fmt.Errorf("%w: %v", ErrInvalidPayload, last)
}
