package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/api"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
)

// deliver posts payload to the webhook with the Stripe-Signature header
// sig (none when empty). It is safe from any goroutine.
func (s *shop) deliver(payload []byte, sig string) (int, string, error) {
	req := httptest.NewRequest(http.MethodPost, "/v1/stripe/webhook", strings.NewReader(string(payload)))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := s.app.Test(req, 10000)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// stripeEvents counts the recorded Stripe events with id (all when empty).
func (s *shop) stripeEvents(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM stripe_events WHERE $1 = '' OR id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return n
}

// rejectedWebhooks reads muster_store_webhook_rejected_total for reason.
func rejectedWebhooks(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "muster_store_webhook_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestStripeWebhookRefusesBadSignatures(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newShop(t, func(st *api.Store, fx *storetest.Fixture) {
		st.Store = store.New(fx.Conn, fx.Catalog, fx.Ledger, fx.Inventory, fx.Stripe, store.Config{Metrics: reg}, nil)
	})
	ev := storetest.Event("customer.created", map[string]any{"id": storetest.ID("cus"), "object": "customer"})
	payload := storetest.Payload(ev)
	now := time.Now()
	good := storetest.Sign(payload, storetest.Secret, now)
	tampered := []byte(strings.Replace(string(payload), `"customer"`, `"charge"`, 1))

	before := s.stripeEvents(t, "")
	tests := []struct {
		name    string
		payload []byte
		sig     string
	}{
		{"no signature", payload, ""},
		{"a malformed header", payload, "not a signature"},
		{"a wrong signature", payload, "t=" + good[2:strings.IndexByte(good, ',')] + ",v1=" + strings.Repeat("ab", 32)},
		{"an unknown secret", payload, storetest.Sign(payload, "whsec_someone_else", now)},
		{"older than the tolerance", payload, storetest.Sign(payload, storetest.Secret, now.Add(-6*time.Minute))},
		{"a body changed after signing", tampered, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw, err := s.deliver(tt.payload, tt.sig)
			if err != nil || status != http.StatusBadRequest || !strings.Contains(raw, `"code":"invalid_signature"`) {
				t.Fatalf("got %d %s %v, want 400 invalid_signature", status, raw, err)
			}
		})
	}
	if n := s.stripeEvents(t, ""); n != before {
		t.Fatalf("refused deliveries recorded %d events", n-before)
	}
	if n := rejectedWebhooks(t, reg, "invalid_signature"); n != float64(len(tests)) {
		t.Fatalf("%v rejected webhook calls counted, want %d", n, len(tests))
	}

	// Signed, but not an event the store can read: refused, not recorded.
	unreadable := storetest.Event("checkout.session.completed", map[string]any{"id": 42, "object": "checkout.session"})
	for _, body := range [][]byte{storetest.Payload(unreadable), []byte("not json")} {
		status, raw, err := s.deliver(body, storetest.Sign(body, storetest.Secret, now))
		if err != nil || status != http.StatusBadRequest || !strings.Contains(raw, `"code":"invalid_payload"`) {
			t.Fatalf("%s: got %d %s %v, want 400 invalid_payload", body, status, raw, err)
		}
	}
	if s.stripeEvents(t, "") != before || rejectedWebhooks(t, reg, "invalid_payload") != 2 {
		t.Fatal("an unreadable event was recorded, or its refusal not counted")
	}

	for _, secret := range []string{storetest.Secret, rotatedSecret} {
		ev := storetest.Event("customer.created", map[string]any{"id": storetest.ID("cus"), "object": "customer"})
		payload := storetest.Payload(ev)
		status, raw, err := s.deliver(payload, storetest.Sign(payload, secret, time.Now()))
		if err != nil || status != http.StatusOK || raw != `{"received":true,"duplicate":false}` {
			t.Fatalf("signed with %s: %d %s %v", secret, status, raw, err)
		}
		if s.stripeEvents(t, ev.ID) != 1 {
			t.Fatalf("event signed with %s not recorded", secret)
		}
	}
}

func TestStripeWebhookCreditsOnceUnderConcurrentDeliveries(t *testing.T) {
	s := newShop(t, nil)
	g := s.gamer(t)
	r := s.checkout(t, g, "gems-1", "DE")
	expect(t, r, http.StatusCreated, "")
	orderID := r.str("order", "id")
	o, err := s.fx.Store.Order(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	ev := storetest.SessionCompleted(o, storetest.ID("pi"), true)
	payload := storetest.Payload(ev)

	const deliveries = 10
	type answer struct {
		status int
		raw    string
		err    error
	}
	answers := make([]answer, deliveries)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range deliveries {
		secret := storetest.Secret
		if i%2 == 1 {
			secret = rotatedSecret
		}
		sig := storetest.Sign(payload, secret, time.Now())
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := &answers[i]
			a.status, a.raw, a.err = s.deliver(payload, sig)
		}()
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i, a := range answers {
		switch {
		case a.err != nil || a.status != http.StatusOK:
			t.Errorf("delivery %d: %d %s %v", i, a.status, a.raw, a.err)
		case a.raw == `{"received":true,"duplicate":false}`:
			fresh++
		case a.raw != `{"received":true,"duplicate":true}`:
			t.Errorf("delivery %d: %s", i, a.raw)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d deliveries were first, want 1", fresh)
	}
	if n := s.stripeEvents(t, ev.ID); n != 1 {
		t.Fatalf("event recorded %d times", n)
	}

	check := func() {
		t.Helper()
		if b := s.fx.Balance(t, g.id, s.fx.Premium); b != 1100 {
			t.Fatalf("premium balance %d, want 1100", b)
		}
		h := s.get(t, "/v1/me/wallets/"+s.fx.Premium+"/history", g.token)
		expect(t, h, http.StatusOK, "")
		if lines := h.list("history"); len(lines) != 1 || lines[0]["amount"] != float64(1100) || lines[0]["source"] != "purchase" {
			t.Fatalf("premium ledger: %s", h.raw)
		}
		r := s.get(t, "/v1/me/orders/"+orderID, g.token)
		expect(t, r, http.StatusOK, "")
		if r.str("status") != store.StatusPaid || r.num("credited") != 1100 {
			t.Fatalf("order after payment: %s", r.raw)
		}
	}
	check()

	status, raw, err := s.deliver(payload, storetest.Sign(payload, storetest.Secret, time.Now()))
	if err != nil || status != http.StatusOK || raw != `{"received":true,"duplicate":true}` {
		t.Fatalf("a later delivery: %d %s %v", status, raw, err)
	}
	check()
	s.fx.Verify(t)
}
