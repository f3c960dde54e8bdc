package store

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/ledger"
)

// Stripe events arriving together are recorded together, and the common
// one, a payment for an open order, is applied in the same transaction: the
// events are inserted in one statement, the orders they pay are locked,
// credited through one ledger batch and marked paid in one statement each.
// Every other event of the batch (a refund, a dispute, an event for an
// order in any other state, a duplicate whose first delivery was not
// applied) is applied on its own right after, as RecordEvent's one-by-one
// path would. If the batch fails, each event takes that path.
const (
	maxEventBatch = 100
	eventBatchers = 2
)

// incoming is a verified event waiting for its batch.
type incoming struct {
	row eventRow
	f   facts
}

func newIncoming(s *Store) *db.Group[incoming, Recorded] {
	// Events about the same order never share a batch.
	key := func(in incoming) int64 {
		h := fnv.New64a()
		if in.f.orderID != "" {
			h.Write([]byte(in.f.orderID))
		} else {
			h.Write([]byte(in.row.id))
		}
		return int64(h.Sum64())
	}
	return db.NewGroup(maxEventBatch, eventBatchers, key, s.writeEvents)
}

// paidFast reports whether a payment event can be applied to o in a batch:
// o is an open real-money order with nothing credited, refunded or
// disputed, and the event's checkout and payment intent are o's.
func paidFast(o Order, f facts) bool {
	return f.kind == factPaid && o.Kind == "real" && (o.Status == StatusPending || o.Status == StatusProcessing) &&
		!o.Paid && o.Credited == 0 && o.RefundedAmount == 0 && o.DisputedAmount == 0 && o.DisputeStatus == "" &&
		o.GrantCurrency != nil && o.GrantAmount > 0 && f.paymentIntent != "" &&
		(o.PaymentIntent == nil || *o.PaymentIntent == f.paymentIntent) &&
		(o.CheckoutID == nil || f.checkout == "" || *o.CheckoutID == f.checkout)
}

// writeEvents records and applies one batch of events and answers each.
func (s *Store) writeEvents(batch []*db.Job[incoming, Recorded]) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]Recorded, len(batch))
	var later []string // events to apply one by one once the batch commits
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		clear(out)
		later = later[:0]
		fast, err := s.lockPaidOrders(ctx, tx, batch)
		if err != nil {
			return err
		}
		fresh, err := insertEvents(ctx, tx, batch, fast)
		if err != nil {
			return err
		}
		done, err := appliedAmong(ctx, tx, batch, fresh)
		if err != nil {
			return err
		}
		var credits []ledger.Transfer
		var paid []*Order
		for i, j := range batch {
			o, isFast := fast[i]
			switch {
			case done[j.In.row.id]:
				out[i] = Recorded{Applied: true} // a duplicate of an applied event
			case !fresh[j.In.row.id]:
				later = append(later, j.In.row.id) // a duplicate of one not applied yet
			case isFast:
				out[i] = Recorded{New: true, Applied: true}
				credits = append(credits, ledger.Transfer{Key: "order:" + o.PublicID + ":credit", Source: "purchase",
					From: ledger.System(ledger.Minted), To: ledger.Player(o.AccountID), Currency: *o.GrantCurrency,
					Amount: o.GrantAmount, Memo: "order " + o.PublicID})
				o.note("credited", j.In.row.id, map[string]any{"currency": *o.GrantCurrency, "amount": o.GrantAmount})
				o.note("stripe:"+j.In.f.eventType, j.In.row.id, map[string]any{
					"status": StatusPaid, "from": o.Status, "refunded": 0, "disputed": 0, "dispute": ""})
				o.Credited, o.Paid, o.Status = o.GrantAmount, true, StatusPaid
				if o.CheckoutID == nil && j.In.f.checkout != "" {
					o.CheckoutID = &j.In.f.checkout
				}
				if o.PaymentIntent == nil {
					o.PaymentIntent = &j.In.f.paymentIntent
				}
				paid = append(paid, o)
			default:
				out[i] = Recorded{New: true}
				later = append(later, j.In.row.id)
			}
		}
		if len(paid) == 0 {
			return nil
		}
		if _, err := s.ledger.PostBatch(ctx, tx, credits); err != nil {
			return err
		}
		waiting, err := markPaid(ctx, tx, paid)
		if err != nil {
			return err
		}
		later = append(later, waiting...)
		return nil
	})
	if err != nil {
		s.log.Warn("stripe event batch failed; applying its events one by one", "events", len(batch), "err", err)
		for _, j := range batch {
			j.Answer(Recorded{}, db.ErrAlone)
		}
		return
	}
	applied := map[string]bool{}
	for _, id := range later {
		ok, err := s.applyAlone(id)
		if err != nil {
			s.log.Warn("stripe event recorded, not applied yet", "event", id, "err", err)
		}
		applied[id] = ok
	}
	for i, j := range batch {
		if !out[i].Applied {
			out[i].Applied = applied[j.In.row.id]
		}
		j.Answer(out[i], nil)
	}
}

// applyAlone applies one recorded event with a deadline of its own, so that
// one slow event (a lookup at Stripe) does not hold up the others.
func (s *Store) applyAlone(id string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.ApplyEvent(ctx, id)
}

// lockPaidOrders locks the open orders that the batch's payment events
// pay, and returns, by position in the batch, those a batch may apply
// (paidFast, one per player).
func (s *Store) lockPaidOrders(ctx context.Context, tx *sqlx.Tx, batch []*db.Job[incoming, Recorded]) (map[int]*Order, error) {
	var ids pq.StringArray
	for _, j := range batch {
		if j.In.f.kind == factPaid && j.In.f.orderID != "" {
			if _, err := uuid.Parse(j.In.f.orderID); err == nil {
				ids = append(ids, j.In.f.orderID)
			}
		}
	}
	fast := map[int]*Order{}
	if len(ids) == 0 {
		return fast, nil
	}
	var orders []Order
	const q = `SELECT ` + orderCols + ` FROM store_orders WHERE public_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`
	if err := tx.SelectContext(ctx, &orders, q, ids); err != nil {
		return nil, err
	}
	byID := make(map[string]*Order, len(orders))
	for i := range orders {
		if err := orders[i].decode(); err != nil {
			return nil, err
		}
		byID[orders[i].PublicID] = &orders[i]
	}
	players := map[int64]bool{}
	for i, j := range batch {
		o, ok := byID[j.In.f.orderID]
		if ok && paidFast(*o, j.In.f) && !players[o.AccountID] {
			players[o.AccountID] = true
			fast[i] = o
		}
	}
	return fast, nil
}

// insertEvents records the batch's events, those a batch applies as
// applied to their order; it returns the ids that were new.
func insertEvents(ctx context.Context, tx *sqlx.Tx, batch []*db.Job[incoming, Recorded], fast map[int]*Order) (map[string]bool, error) {
	n := len(batch)
	ids, types, payloads, pis, vias := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	created := make(pq.StringArray, n)
	orders := make(pq.Int64Array, n)
	for i, j := range batch {
		r := j.In.row
		ids[i], types[i], payloads[i], pis[i], vias[i] = r.id, r.typ, string(r.payload), r.pi, r.via
		created[i] = r.created.Format(time.RFC3339)
		if o, ok := fast[i]; ok {
			orders[i] = o.ID
		}
	}
	const q = `INSERT INTO stripe_events (id, type, created, payload, payment_intent, via, order_id, applied_at)
		SELECT id, type, created, payload, NULLIF(pi, ''), via, NULLIF(order_id, 0), CASE WHEN order_id <> 0 THEN now() END
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::text[], $6::text[], $7::bigint[])
			AS r (id, type, created, payload, pi, via, order_id)
		ON CONFLICT (id) DO NOTHING RETURNING id`
	var fresh []string
	if err := tx.SelectContext(ctx, &fresh, q, ids, types, created, payloads, pis, vias, orders); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(fresh))
	for _, id := range fresh {
		out[id] = true
	}
	return out, nil
}

// appliedAmong returns which of the batch's duplicates (ids not fresh) were
// applied already.
func appliedAmong(ctx context.Context, tx *sqlx.Tx, batch []*db.Job[incoming, Recorded], fresh map[string]bool) (map[string]bool, error) {
	var dups pq.StringArray
	for _, j := range batch {
		if !fresh[j.In.row.id] {
			dups = append(dups, j.In.row.id)
		}
	}
	done := map[string]bool{}
	if len(dups) == 0 {
		return done, nil
	}
	var ids []string
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM stripe_events WHERE id = ANY($1) AND applied_at IS NOT NULL`, dups); err != nil {
		return nil, err
	}
	for _, id := range ids {
		done[id] = true
	}
	return done, nil
}

// markPaid writes the paid orders and their trails, and returns the events
// that waited for their payment intents.
func markPaid(ctx context.Context, tx *sqlx.Tx, paid []*Order) ([]string, error) {
	n := len(paid)
	ids, credited := make(pq.Int64Array, n), make(pq.Int64Array, n)
	checkouts, pis := make(pq.StringArray, n), make(pq.StringArray, n)
	var trailOrders pq.Int64Array
	var kinds, details, events pq.StringArray
	for i, o := range paid {
		ids[i], credited[i], pis[i] = o.ID, o.Credited, *o.PaymentIntent
		if o.CheckoutID != nil {
			checkouts[i] = *o.CheckoutID
		}
		for _, t := range o.trail {
			b, err := json.Marshal(t.detail)
			if err != nil {
				return nil, err
			}
			trailOrders = append(trailOrders, o.ID)
			kinds, details, events = append(kinds, t.kind), append(details, string(b)), append(events, t.stripeEvent)
		}
		o.trail = nil
	}
	const uq = `UPDATE store_orders o SET status = 'paid', paid = true, credited = r.credited,
		checkout_id = coalesce(o.checkout_id, NULLIF(r.checkout, '')), payment_intent = r.pi, updated_at = now()
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS r (id, credited, checkout, pi) WHERE o.id = r.id`
	if _, err := tx.ExecContext(ctx, uq, ids, credited, checkouts, pis); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, trailSQL, trailOrders, kinds, details, events); err != nil {
		return nil, err
	}
	var waiting []string
	const wq = `SELECT id FROM stripe_events WHERE payment_intent = ANY($1) AND order_id IS NULL AND applied_at IS NULL ORDER BY created, id`
	if err := tx.SelectContext(ctx, &waiting, wq, pis); err != nil {
		return nil, err
	}
	return waiting, nil
}
