package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"

	"github.com/musterhq/muster/domain/db"
)

// Recorded says what RecordEvent did.
type Recorded struct {
	New     bool // false: the event id was recorded before
	Applied bool // the event is applied to its order (or needs none)
}

// RecordEvent stores a verified Stripe event once by its id and applies it.
// The event is durable when RecordEvent returns without error, whether or
// not applying it worked. Events arriving together are recorded in batches
// (eventbatch.go); otherwise a new event is matched to its order, recorded
// and applied in one transaction. When applying fails the event is recorded
// on its own, and an event that could not be applied (no order matches yet,
// the database failed mid-way, the process died) is applied later, by the
// order it matches or by Reconcile. A duplicate is applied only if its
// first delivery was not.
func (s *Store) RecordEvent(ctx context.Context, ev stripe.Event, via string) (out Recorded, err error) {
	defer func() {
		if err != nil {
			s.metrics.events.WithLabelValues(via, "failed").Inc()
		} else {
			s.metrics.events.WithLabelValues(via, outcome(out)).Inc()
		}
	}()
	payload, err := json.Marshal(ev)
	if err != nil {
		return Recorded{}, fmt.Errorf("%w: %v", ErrInvalidPayload, err)
	}
	f, err := parseFacts(ev)
	if err != nil {
		return Recorded{}, err
	}
	rec := eventRow{id: ev.ID, typ: string(ev.Type), created: time.Unix(ev.Created, 0).UTC(), payload: payload, via: via, pi: f.paymentIntent}
	if out, err = s.incoming.Do(ctx, incoming{row: rec, f: f}); !errors.Is(err, db.ErrAlone) {
		return out, err
	}
	// One by one. Stripe's redelivery of an event applied long ago: one read.
	var applied bool
	err = s.stmts.Get(ctx, &applied, `SELECT applied_at IS NOT NULL FROM stripe_events WHERE id = $1`, ev.ID)
	if err == nil && applied {
		return Recorded{Applied: true}, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Recorded{}, fmt.Errorf("look up stripe event %s: %w", ev.ID, err)
	}
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) (err error) {
		out, err = s.recordAndApply(ctx, tx, rec, f)
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("stripe event not applied; recorded to apply later", "event", ev.ID, "type", ev.Type, "err", err)
		err = db.Retry(ctx, func() (err error) {
			out.New, err = rec.insert(ctx, s.conn, nil, "")
			return err
		})
		out.Applied = false
	}
	if err != nil {
		return Recorded{}, fmt.Errorf("record stripe event %s: %w", ev.ID, err)
	}
	if out.New {
		return out, nil
	}
	if out.Applied, err = s.ApplyEvent(ctx, ev.ID); err != nil {
		s.log.Warn("stripe event recorded, not applied yet", "event", ev.ID, "type", ev.Type, "err", err)
	}
	return out, nil
}

func outcome(r Recorded) string {
	switch {
	case !r.New:
		return "duplicate"
	case r.Applied:
		return "applied"
	}
	return "waiting"
}

// eventRow is a Stripe event as recorded.
type eventRow struct {
	id, typ, via, pi string
	created          time.Time
	payload          []byte
}

// insert records the event unless its id exists: applied to orderID when
// it is set (or when note says the store does not use it), else waiting
// with note as its last error. It reports whether the event is new.
func (r eventRow) insert(ctx context.Context, q sqlx.QueryerContext, orderID *int64, note string) (bool, error) {
	const sq = `INSERT INTO stripe_events (id, type, created, payload, payment_intent, via, order_id, applied_at, last_error, attempts)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7::bigint, CASE WHEN $8 THEN now() END, $9, CASE WHEN $8 THEN 0 ELSE 1 END)
		ON CONFLICT (id) DO NOTHING RETURNING true`
	var fresh bool
	err := sqlx.GetContext(ctx, q, &fresh, sq, r.id, r.typ, r.created, r.payload, r.pi, r.via, orderID, orderID != nil || note == notUsed, note)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return fresh, err
}

// notUsed marks events of types the store does not use: recorded, applied,
// nothing to do.
const notUsed = "not used by the store"

// recordAndApply records a new event and applies it to its order inside tx;
// a duplicate changes nothing.
func (s *Store) recordAndApply(ctx context.Context, tx *sqlx.Tx, r eventRow, f facts) (Recorded, error) {
	if f.kind == factNone {
		fresh, err := r.insert(ctx, tx, nil, notUsed)
		return Recorded{New: fresh, Applied: true}, err
	}
	o, err := s.matchOrder(ctx, tx, f)
	if errors.Is(err, ErrNotFound) {
		fresh, err := r.insert(ctx, tx, nil, "no matching order yet")
		return Recorded{New: fresh}, err
	}
	if err != nil {
		return Recorded{}, err
	}
	fresh, err := r.insert(ctx, tx, &o.ID, "")
	if err != nil || !fresh {
		return Recorded{}, err
	}
	return Recorded{New: true, Applied: true}, s.applyFacts(ctx, tx, &o, f, r.id)
}

// ApplyEvent applies a recorded event to its order, once: the event row is
// locked and marked applied in the same transaction as the order's changes.
// It reports false (and no error) when no order matches the event yet.
func (s *Store) ApplyEvent(ctx context.Context, eventID string) (bool, error) {
	applied := false
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var row struct {
			Payload   []byte     `db:"payload"`
			AppliedAt *time.Time `db:"applied_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT payload, applied_at FROM stripe_events WHERE id = $1 FOR UPDATE`, eventID)
		if err != nil {
			return fmt.Errorf("load stripe event %s: %w", eventID, err)
		}
		if row.AppliedAt != nil {
			applied = true
			return nil
		}
		var ev stripe.Event
		if err := json.Unmarshal(row.Payload, &ev); err != nil {
			return fmt.Errorf("decode stripe event %s: %w", eventID, err)
		}
		applied, err = s.applyRecorded(ctx, tx, ev)
		return err
	})
	if err != nil {
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx),
			`UPDATE stripe_events SET attempts = attempts + 1, last_error = left($2, 500) WHERE id = $1`, eventID, err.Error())
		return false, err
	}
	return applied, nil
}

// applyRecorded applies ev, whose row tx holds locked.
func (s *Store) applyRecorded(ctx context.Context, tx *sqlx.Tx, ev stripe.Event) (bool, error) {
	f, err := parseFacts(ev)
	if err != nil {
		return false, err
	}
	if f.kind == factNone {
		_, err := tx.ExecContext(ctx, `UPDATE stripe_events SET applied_at = now(), last_error = $2 WHERE id = $1`, ev.ID, notUsed)
		return err == nil, err
	}
	o, err := s.matchOrder(ctx, tx, f)
	if errors.Is(err, ErrNotFound) {
		_, err := tx.ExecContext(ctx, `UPDATE stripe_events SET attempts = attempts + 1, last_error = 'no matching order yet' WHERE id = $1`, ev.ID)
		return false, err
	}
	if err != nil {
		return false, err
	}
	if _, err = tx.ExecContext(ctx, `UPDATE stripe_events SET applied_at = now(), order_id = $2, last_error = '' WHERE id = $1`, ev.ID, o.ID); err != nil {
		return false, err
	}
	return true, s.applyFacts(ctx, tx, &o, f, ev.ID)
}

// matchOrder finds and locks the order an event is about: by the order id
// in its metadata, its checkout session or its payment intent, and as a
// last resort by asking Stripe for the payment intent's metadata.
func (s *Store) matchOrder(ctx context.Context, tx *sqlx.Tx, f facts) (Order, error) {
	try := func(where, arg string) (Order, error) {
		if arg == "" {
			return Order{}, ErrNotFound
		}
		return loadOrder(ctx, tx, where, "FOR UPDATE", arg)
	}
	o, err := orderByPublicID(ctx, tx, f.orderID, "FOR UPDATE")
	if errors.Is(err, ErrNotFound) {
		o, err = try("checkout_id = $1", f.checkout)
	}
	if errors.Is(err, ErrNotFound) {
		o, err = try("payment_intent = $1", f.paymentIntent)
	}
	if errors.Is(err, ErrNotFound) && f.paymentIntent != "" && s.payments != nil {
		id, perr := s.payments.PaymentIntentOrder(ctx, f.paymentIntent)
		if perr == nil && id != "" {
			o, err = orderByPublicID(ctx, tx, id, "FOR UPDATE")
		}
	}
	if err == nil && o.Kind != "real" {
		return o, fmt.Errorf("%w: event names virtual order %s", ErrInvalidPayload, o.PublicID)
	}
	return o, err
}

// applyFacts moves order o by what an event says, settles it against the
// ledger, and then applies the events that were waiting for its payment
// intent.
func (s *Store) applyFacts(ctx context.Context, tx *sqlx.Tx, o *Order, f facts, eventID string) error {
	before := *o
	if f.checkout != "" && o.CheckoutID == nil {
		o.CheckoutID = &f.checkout
	}
	newPI := f.paymentIntent != "" && o.PaymentIntent == nil
	if newPI {
		o.PaymentIntent = &f.paymentIntent
	}
	if f.charge != "" {
		o.ChargeID = &f.charge
	}
	switch f.kind {
	case factPaid:
		o.Paid = true
	case factProcessing:
		if o.Status == StatusPending {
			o.Status = StatusProcessing
		}
	case factFailed:
		if !o.Paid {
			o.Status = StatusFailed
		}
	case factExpired:
		if !o.Paid && o.Status == StatusPending {
			o.Status = StatusExpired
		}
	case factRefund:
		o.Paid = true // only a paid charge is refunded
		o.RefundedAmount = max(o.RefundedAmount, min(f.amountRefunded, o.PriceAmount))
	case factDispute:
		o.Paid = true
		if !disputeClosed(o.DisputeStatus) || disputeClosed(f.disputeStatus) {
			o.DisputeStatus = f.disputeStatus
			o.DisputedAmount = min(f.disputeAmount, o.PriceAmount)
			// An inquiry (warning_*) withdraws no money; a won dispute and
			// reinstated funds give it back.
			if f.disputeStatus == "won" || f.disputeReinstated || strings.HasPrefix(f.disputeStatus, "warning_") {
				o.DisputedAmount = 0
			}
		}
	}
	if o.Paid {
		o.Status = StatusPaid
		if o.RefundedAmount >= o.PriceAmount {
			o.Status = StatusRefunded
		}
	}
	if err := s.settle(ctx, tx, o, eventID, f.kind == factDispute); err != nil {
		return err
	}
	if (o.Status == StatusFailed || o.Status == StatusExpired) && before.Status != o.Status {
		if err := releaseLimit(ctx, tx, *o); err != nil {
			return err
		}
	}
	const q = `UPDATE store_orders SET status = $2, checkout_id = $3, payment_intent = $4, charge_id = $5, paid = $6,
		credited = $7, refunded_amount = $8, disputed_amount = $9, dispute_status = $10, clawed_back = $11, shortfall = $12,
		moves = $13, updated_at = now() WHERE id = $1`
	if _, err := tx.ExecContext(ctx, q, o.ID, o.Status, o.CheckoutID, o.PaymentIntent, o.ChargeID, o.Paid, o.Credited,
		o.RefundedAmount, o.DisputedAmount, o.DisputeStatus, o.ClawedBack, o.Shortfall, o.Moves); err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	o.note("stripe:"+f.eventType, eventID, map[string]any{
		"status": o.Status, "from": before.Status, "refunded": o.RefundedAmount, "disputed": o.DisputedAmount, "dispute": o.DisputeStatus,
	})
	if err := flushTrail(ctx, tx, o); err != nil {
		return err
	}
	if o.DisputedAmount > 0 && before.DisputedAmount == 0 {
		if err := flag(ctx, tx, o.AccountID, o.ID, "chargeback"); err != nil {
			return err
		}
	}
	if !newPI {
		return nil
	}
	var waiting []string
	const wq = `SELECT id FROM stripe_events WHERE payment_intent = $1 AND order_id IS NULL AND applied_at IS NULL
		AND id <> $2 ORDER BY created, id FOR UPDATE`
	if err := tx.SelectContext(ctx, &waiting, wq, *o.PaymentIntent, eventID); err != nil {
		return err
	}
	for _, id := range waiting {
		var payload []byte
		if err := tx.GetContext(ctx, &payload, `SELECT payload FROM stripe_events WHERE id = $1`, id); err != nil {
			return err
		}
		var ev stripe.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return err
		}
		wf, err := parseFacts(ev)
		if err != nil {
			return err
		}
		if err := s.applyFacts(ctx, tx, o, wf, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stripe_events SET applied_at = now(), order_id = $2, last_error = '' WHERE id = $1`, id, o.ID); err != nil {
			return err
		}
	}
	return nil
}

func disputeClosed(status string) bool {
	return status == "won" || status == "lost" || status == "warning_closed"
}

// flag marks an account for support, once per order and reason.
func flag(ctx context.Context, tx *sqlx.Tx, accountID, orderID int64, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO account_flags (account_id, reason, order_id) VALUES ($1, $2, $3)
		ON CONFLICT (order_id, reason) DO NOTHING`, accountID, reason, orderID)
	return err
}
