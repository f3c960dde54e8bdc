// Package storetest sets up what store tests share: a store wired to the
// real ledger and inventory and to stripe-mock, demo products, and Stripe
// events as Stripe sends them, signed with stripe-go's signing helper.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/test/testenv"
)

// Secret is the webhook signing secret tests use.
const Secret = "whsec_test_muster"

// Fixture is a store with content to sell.
type Fixture struct {
	Conn      *sqlx.DB
	Catalog   *catalog.Store
	Ledger    *ledger.Ledger
	Inventory *inventory.Store
	Store     *store.Store
	Stripe    *store.Stripe
	Soft      string        // soft currency code
	Premium   string        // premium currency code
	Sword     catalog.Item  // unique item
	Charm     catalog.Item  // stackable item
	Offer     store.Product // the sword for 100 soft
	CharmOne  store.Product // one charm for 30 soft
	Bundle    store.Product // sword and 3 charms for 150 soft (parts: 190)
	Pack      store.Product // 1,000 + 100 premium for 999 (default), 899 eur in DE
}

// New builds a Fixture over conn with the refund policy.
func New(t testing.TB, conn *sqlx.DB, policy string) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{Conn: conn, Catalog: catalog.NewStore(conn), Ledger: ledger.New(conn)}
	f.Inventory = inventory.NewStore(conn, f.Ledger, inventory.Config{})
	f.Stripe = store.NewStripe("sk_test_muster", testenv.StripeMock(t), 10*time.Second)
	f.Store = store.New(conn, f.Catalog, f.Ledger, f.Inventory, f.Stripe, store.Config{
		RefundPolicy: policy, SuccessURL: "https://game.example/store/done?order={ORDER_ID}", CancelURL: "https://game.example/store",
	}, nil)
	f.Soft = economytest.Currency(t, conn, "soft")
	f.Premium = economytest.Currency(t, conn, "premium")
	f.Sword = economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 1 })
	f.Charm = economytest.Item(t, conn, func(it *catalog.Item) { it.MaxStack = 99 })
	save := func(p store.Product) store.Product {
		t.Helper()
		saved, err := f.Store.SaveProduct(ctx, p, catalog.Edit{Editor: "storetest"})
		if err != nil {
			t.Fatalf("save product %s: %v", p.ID, err)
		}
		return saved
	}
	f.Offer = save(store.Product{ID: economytest.Name("offer"), Kind: store.KindOffer, Name: "Sword", PriceCurrency: f.Soft,
		PriceAmount: 100, Items: []inventory.Line{{ItemID: f.Sword.ID, Quantity: 1}}})
	f.CharmOne = save(store.Product{ID: economytest.Name("charm"), Kind: store.KindOffer, Name: "Charm", PriceCurrency: f.Soft,
		PriceAmount: 30, Items: []inventory.Line{{ItemID: f.Charm.ID, Quantity: 1}}})
	f.Bundle = save(store.Product{ID: economytest.Name("bundle"), Kind: store.KindOffer, Name: "Starter bundle", PriceCurrency: f.Soft,
		PriceAmount: 150, Items: []inventory.Line{{ItemID: f.Sword.ID, Quantity: 1}, {ItemID: f.Charm.ID, Quantity: 3}}})
	f.Pack = save(store.Product{ID: economytest.Name("pack"), Kind: store.KindPack, Name: "1,100 gems", GrantCurrency: f.Premium,
		GrantAmount: 1000, BonusAmount: 100, Prices: []store.Price{{Country: "*", Currency: "usd", Amount: 999}, {Country: "DE", Currency: "eur", Amount: 899}}})
	return f
}

// Fund credits a player's soft wallet.
func (f *Fixture) Fund(t testing.TB, accountID, amount int64) {
	t.Helper()
	_, err := f.Ledger.Transfer(context.Background(), ledger.Transfer{Key: economytest.Name("fund"), Source: "reward",
		From: ledger.System(ledger.Rewards), To: ledger.Player(accountID), Currency: f.Soft, Amount: amount})
	if err != nil {
		t.Fatalf("fund player: %v", err)
	}
}

// Balance returns a player's balance of currency.
func (f *Fixture) Balance(t testing.TB, accountID int64, currency string) int64 {
	t.Helper()
	bs, err := f.Ledger.Balances(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return b.Balance
		}
	}
	return 0
}

// Verify runs the ledger's verification and fails the test on a break.
func (f *Fixture) Verify(t testing.TB) {
	t.Helper()
	if _, err := ledger.Verify(context.Background(), f.Conn); err != nil {
		t.Fatalf("ledger verify: %v", err)
	}
}

var seq atomic.Int64

// ID returns a Stripe-like id with prefix, unique in this test binary.
func ID(prefix string) string {
	return fmt.Sprintf("%s_%d%06d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// Event is a Stripe event of type typ about object, created now.
func Event(typ string, object map[string]any) stripe.Event {
	raw, err := json.Marshal(object)
	if err != nil {
		panic(err)
	}
	return stripe.Event{ID: ID("evt"), Object: "event", Type: stripe.EventType(typ), Created: time.Now().Unix(),
		APIVersion: stripe.APIVersion, Data: &stripe.EventData{Raw: raw}}
}

// Payload is the JSON body Stripe posts for ev.
func Payload(ev stripe.Event) []byte {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// Sign signs payload as Stripe does at time at with secret, returning the
// Stripe-Signature header.
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// SessionCompleted is checkout.session.completed for order, paid (or
// awaiting a delayed payment) through paymentIntent.
func SessionCompleted(o store.Order, paymentIntent string, paid bool) stripe.Event {
	status := "unpaid"
	if paid {
		status = "paid"
	}
	return Event("checkout.session.completed", session(o, paymentIntent, "complete", status))
}

// SessionEvent is a checkout.session.* event of typ for order.
func SessionEvent(typ string, o store.Order, paymentIntent, status, paymentStatus string) stripe.Event {
	return Event(typ, session(o, paymentIntent, status, paymentStatus))
}

func session(o store.Order, paymentIntent, status, paymentStatus string) map[string]any {
	id := ID("cs")
	if o.CheckoutID != nil {
		id = *o.CheckoutID
	}
	return map[string]any{"id": id, "object": "checkout.session", "mode": "payment", "status": status,
		"payment_status": paymentStatus, "payment_intent": paymentIntent, "client_reference_id": o.PublicID,
		"metadata": map[string]string{"order_id": o.PublicID}, "amount_total": o.PriceAmount, "currency": o.PriceCurrency}
}

// ChargeRefunded is charge.refunded for a charge of amount through
// paymentIntent, refunded refunded in all so far.
func ChargeRefunded(paymentIntent, charge string, amount, refunded int64) stripe.Event {
	return Event("charge.refunded", map[string]any{"id": charge, "object": "charge", "amount": amount,
		"amount_refunded": refunded, "refunded": refunded == amount, "payment_intent": paymentIntent, "status": "succeeded"})
}

// Dispute is a charge.dispute.* event of typ for a charge through
// paymentIntent.
func Dispute(typ, paymentIntent, charge, status string, amount int64) stripe.Event {
	return Event(typ, map[string]any{"id": ID("dp"), "object": "dispute", "amount": amount, "charge": charge,
		"payment_intent": paymentIntent, "status": status, "reason": "fraudulent"})
}
