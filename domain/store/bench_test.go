package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
	"github.com/musterhq/muster/test/testenv"
)

// benchClients and benchPool are the economy benchmarks' figures: 64
// concurrent clients over muster's default pool of 20 connections.
const (
	benchClients = 64
	benchPool    = 20
)

var benchRate = flag.Float64("rate", 0, "operations per second the store benchmarks offer; 0: as fast as they complete")

// asMusterRuns sets the garbage collector as the muster binary sets it
// (GOGC 400 unless the environment says otherwise, cmd/muster/main.go).
func asMusterRuns(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(400)
		b.Cleanup(func() { debug.SetGCPercent(old) })
	}
}

// BenchmarkVirtualPurchase buys a stackable item for soft currency from 64
// concurrent clients, each its own player: order, debit and grant in one
// transaction per purchase, each with its own key.
func BenchmarkVirtualPurchase(b *testing.B) {
	asMusterRuns(b)
	conn := testenv.DB(b)
	conn.SetMaxOpenConns(benchPool)
	conn.SetMaxIdleConns(benchPool)
	f := storetest.New(b, conn, store.PolicyDebt)
	ctx := context.Background()
	c := f.Charm
	c.MaxStack = catalog.MaxStackLimit
	if _, err := f.Catalog.SaveItem(ctx, c, catalog.Edit{Expected: c.Version, Editor: "bench"}); err != nil {
		b.Fatal(err)
	}
	players := make([]int64, benchClients)
	for i := range players {
		players[i] = economytest.Player(b, conn)
		f.Fund(b, players[i], ledger.MaxAmount)
	}
	run := time.Now().UnixNano()
	economytest.Drive(b, benchClients, *benchRate, func(client int, n int64) error {
		_, err := f.Store.Buy(ctx, players[client], f.CharmOne.ID, fmt.Sprintf("bench-%d-%d", run, n), "")
		return err
	})
}

// BenchmarkWebhookEvents records and applies checkout.session.completed
// events from 64 concurrent senders, 30% of them a second delivery of an
// event already sent, and checks that every order was credited once.
func BenchmarkWebhookEvents(b *testing.B) {
	asMusterRuns(b)
	conn := testenv.DB(b)
	conn.SetMaxOpenConns(benchPool)
	conn.SetMaxIdleConns(benchPool)
	f := storetest.New(b, conn, store.PolicyDebt)
	ctx := context.Background()
	players := make([]int64, benchClients)
	for i := range players {
		players[i] = economytest.Player(b, conn)
	}
	// Enough fresh events for the warm-up and 70% of the operations.
	fresh := 5*benchClients + b.N*7/10 + benchClients
	// Pending orders made directly: checkouts through stripe-mock are not
	// what this measures.
	events := make([]stripe.Event, fresh)
	run := time.Now().UnixNano()
	for i := range fresh {
		var o store.Order
		err := conn.Get(&o.PublicID, `INSERT INTO store_orders (public_id, idem_key, request_hash, account_id, product_id, product_version,
			kind, status, country, price_currency, price_amount, grant_currency, grant_amount)
			VALUES (gen_random_uuid(), $1, '\x00', $2, $3, 1, 'real', 'pending', '*', 'usd', 999, $4, 1100) RETURNING public_id`,
			fmt.Sprintf("bench-wh-%d-%d", run, i), players[i%benchClients], f.Pack.ID, f.Premium)
		if err != nil {
			b.Fatal(err)
		}
		o.PriceAmount, o.PriceCurrency = 999, "usd"
		events[i] = storetest.SessionCompleted(o, storetest.ID("pi"), true)
	}
	var sent, dup atomic.Int64
	economytest.Drive(b, benchClients, *benchRate, func(client int, n int64) error {
		ev := events[min(sent.Add(1)-1, int64(fresh)-1)]
		if n > 0 && n%10 < 3 {
			sent.Add(-1)
			dup.Add(1)
			ev = events[(n*7919)%sent.Load()]
		}
		_, err := f.Store.RecordEvent(ctx, ev, "webhook")
		return err
	})
	b.StopTimer()
	var credited, paid, balances int64
	if err := conn.Get(&credited, `SELECT count(*) FROM ledger_transfers WHERE idem_key LIKE 'order:%:credit' AND currency = $1`, f.Premium); err != nil {
		b.Fatal(err)
	}
	if err := conn.Get(&paid, `SELECT count(*) FROM store_orders WHERE idem_key LIKE $1 AND paid`, fmt.Sprintf("bench-wh-%d-%%", run)); err != nil {
		b.Fatal(err)
	}
	for _, p := range players {
		balances += f.Balance(b, p, f.Premium)
	}
	if credited != paid || balances != paid*1100 {
		b.Fatalf("%d paid orders, %d credits, balances %d", paid, credited, balances)
	}
	b.ReportMetric(float64(dup.Load())/float64(b.N)*100, "%dup")
}

// BenchmarkVerifyWebhook checks the signature of one checkout.session.completed
// event and decodes it, as the webhook endpoint does before RecordEvent.
func BenchmarkVerifyWebhook(b *testing.B) {
	o := store.Order{PublicID: "5f0c3bde-8a6e-4c1e-9d43-0c3b1e0f7a11", PriceAmount: 999, PriceCurrency: "usd"}
	payload := storetest.Payload(storetest.SessionCompleted(o, storetest.ID("pi"), true))
	w := store.Webhooks{Secrets: []string{"whsec_old", storetest.Secret}}
	header := storetest.Sign(payload, storetest.Secret, time.Now())
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := w.Verify(payload, header); err != nil {
			b.Fatal(err)
		}
	}
}
