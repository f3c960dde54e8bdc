package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
	"github.com/musterhq/muster/test/testenv"
)

// eventsProxy serves GET /v1/events with the events the test puts there, as
// Stripe lists them, answers a repeated idempotency key as Stripe does, and
// passes every other call to stripe-mock (whose fixtures can do neither).
type eventsProxy struct {
	mu     sync.Mutex
	events []stripe.Event
}

func (p *eventsProxy) serve(t *testing.T) string {
	mock, err := url.Parse(testenv.StripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(mock)
	replies := map[string]*httptest.ResponseRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key := r.Header.Get("Idempotency-Key"); r.Method == http.MethodPost && key != "" {
			// Stripe answers a repeated idempotency key with its first
			// answer; stripe-mock answers each call afresh.
			p.mu.Lock()
			rec, seen := replies[key]
			if !seen {
				rec = httptest.NewRecorder()
				rp.ServeHTTP(rec, r)
				replies[key] = rec
			}
			p.mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/v1/events" {
			rp.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		data := make([]stripe.Event, len(p.events))
		for i, ev := range p.events { // newest first, as Stripe lists
			data[len(p.events)-1-i] = ev
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/events", "has_more": false, "data": data})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestReconcileRecoversALostWebhook(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	proxy := &eventsProxy{}
	s := store.New(f.Conn, f.Catalog, f.Ledger, f.Inventory, store.NewStripe("sk_test_muster", proxy.serve(t), 10*time.Second), store.Config{}, nil)
	player := economytest.Player(t, f.Conn)
	o, err := s.Checkout(ctx, player, "ref", f.Pack.ID, "lost", "")
	if err != nil {
		t.Fatal(err)
	}
	// Stripe sent checkout.session.completed, and the webhook never arrived.
	proxy.events = append(proxy.events, storetest.SessionCompleted(o, storetest.ID("pi"), true),
		storetest.Event("customer.created", map[string]any{"id": storetest.ID("cus"), "object": "customer"}))
	r, err := s.Reconcile(ctx, time.Now().Add(-time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Listed != 2 || r.Recovered != 2 {
		t.Fatalf("reconciled = %+v", r)
	}
	if got := order(t, f, o); got.Status != store.StatusPaid || f.Balance(t, player, f.Premium) != 1100 {
		t.Fatalf("order %s, balance %d", got.Status, f.Balance(t, player, f.Premium))
	}
	// A second pass, and the webhook arriving late, change nothing.
	if r, err = s.Reconcile(ctx, time.Now().Add(-time.Hour), 0); err != nil || r.Recovered != 0 {
		t.Fatalf("second pass = %+v, %v", r, err)
	}
	if rec, err := s.RecordEvent(ctx, proxy.events[0], "webhook"); err != nil || rec.New {
		t.Fatalf("late webhook = %+v, %v", rec, err)
	}
	if b := f.Balance(t, player, f.Premium); b != 1100 {
		t.Fatalf("balance %d", b)
	}
	var via string
	if err := f.Conn.Get(&via, `SELECT via FROM stripe_events WHERE id = $1`, proxy.events[0].ID); err != nil || via != "reconciliation" {
		t.Fatalf("via = %q, %v", via, err)
	}
	f.Verify(t)
}

func TestAnEventRecordedButNotAppliedIsAppliedAfterARestart(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player := economytest.Player(t, f.Conn)
	o := checkout(t, f, player, "")
	ev := storetest.SessionCompleted(o, storetest.ID("pi"), true)
	// What RecordEvent has made durable when the process dies before
	// applying: the event row, and nothing else.
	if _, err := f.Conn.Exec(`INSERT INTO stripe_events (id, type, created, payload) VALUES ($1, $2, now(), $3)`,
		ev.ID, string(ev.Type), storetest.Payload(ev)); err != nil {
		t.Fatal(err)
	}
	if b := f.Balance(t, player, f.Premium); b != 0 {
		t.Fatalf("balance %d before the restart", b)
	}
	// A fresh process: its worker's reconciler applies waiting events.
	restarted := store.New(f.Conn, f.Catalog, f.Ledger, f.Inventory, f.Stripe, store.Config{}, nil)
	r, err := restarted.Reconcile(ctx, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Applied != 1 {
		t.Fatalf("reconciled = %+v", r)
	}
	if got := order(t, f, o); got.Status != store.StatusPaid || f.Balance(t, player, f.Premium) != 1100 {
		t.Fatalf("order %s balance %d", got.Status, f.Balance(t, player, f.Premium))
	}
	// Stripe's retry of the same event, after the restart: nothing more.
	if rec := record(t, f, ev); rec.New || !rec.Applied {
		t.Fatalf("retry = %+v", rec)
	}
	if b := f.Balance(t, player, f.Premium); b != 1100 {
		t.Fatalf("balance %d", b)
	}
	f.Verify(t)
}

func TestSupportRefundCallsStripeAndTheWebhookClawsBack(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player, o, pi, ch := paid(t, f)

	unpaid := checkout(t, f, player, "")
	if _, err := f.Store.Refund(ctx, store.RefundRequest{OrderID: unpaid.PublicID, Key: "r0", Reason: "asked"}); !errors.Is(err, store.ErrNotRefundable) {
		t.Fatalf("refund of an unpaid order: %v", err)
	}
	if _, err := f.Store.Refund(ctx, store.RefundRequest{OrderID: o.PublicID, Key: "r1", Amount: 5000, Reason: "asked"}); !errors.Is(err, store.ErrInvalidRefund) {
		t.Fatalf("refund above the price: %v", err)
	}
	if _, err := f.Store.Refund(ctx, store.RefundRequest{OrderID: o.PublicID, Key: "r2", Amount: 500}); !errors.Is(err, store.ErrInvalidRefund) {
		t.Fatalf("refund without a reason: %v", err)
	}
	req := store.RefundRequest{OrderID: o.PublicID, Key: "form-1", Amount: 500, Staff: "support@studio", Reason: "double purchase"}
	if _, err := f.Store.Refund(ctx, req); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if _, err := f.Store.Refund(ctx, req); !errors.Is(err, store.ErrRefundRequested) {
		t.Fatalf("the same request again: %v", err)
	}
	if b := f.Balance(t, player, f.Premium); b != 1100 {
		t.Fatalf("clawed back before Stripe confirmed: %d", b)
	}
	record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, 500))
	if b := f.Balance(t, player, f.Premium); b != 1100-550 { // 1100 × 500 / 999 = 550
		t.Fatalf("balance %d, want 550", b)
	}
	events, err := f.Store.OrderEvents(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	requested := 0
	for _, e := range events {
		kinds[e.Kind] = true
		if e.Kind == "refund_requested" {
			requested++
		}
	}
	if requested != 1 {
		t.Errorf("%d refund requests recorded, want 1", requested)
	}
	for _, k := range []string{"created", "checkout_created", "credited", "refund_requested", "clawed_back"} {
		if !kinds[k] {
			t.Errorf("the order's trail has no %s: %v", k, kinds)
		}
	}
	f.Verify(t)
}

// Two staff sending the same refund before Stripe confirms the first
// refund once: Stripe's key names the amount refunded so far and this one.
func TestTwoStaffSendingTheSameRefundRefundOnce(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	f.Store = store.New(f.Conn, f.Catalog, f.Ledger, f.Inventory, store.NewStripe("sk_test_muster", (&eventsProxy{}).serve(t), 10*time.Second), store.Config{}, nil)
	_, o, _, _ := paid(t, f)
	first := store.RefundRequest{OrderID: o.PublicID, Key: "tab-1", Amount: 200, Staff: "a@studio", Reason: "asked twice"}
	if _, err := f.Store.Refund(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := first
	second.Key, second.Staff = "tab-2", "b@studio"
	if _, err := f.Store.Refund(ctx, second); !errors.Is(err, store.ErrRefundRequested) {
		t.Fatalf("the same refund from a second tab: %v", err)
	}
}
