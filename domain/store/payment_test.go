package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/domain/storetest"
	"github.com/musterhq/muster/test/testenv"
)

// checkout starts a real-money order of the fixture's pack.
func checkout(t *testing.T, f *storetest.Fixture, player int64, country string) store.Order {
	t.Helper()
	o, err := f.Store.Checkout(context.Background(), player, "player-ref", f.Pack.ID, economytest.Name("ck"), country)
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	return o
}

func record(t *testing.T, f *storetest.Fixture, ev stripe.Event) store.Recorded {
	t.Helper()
	r, err := f.Store.RecordEvent(context.Background(), ev, "webhook")
	if err != nil {
		t.Fatalf("record %s: %v", ev.Type, err)
	}
	return r
}

func order(t *testing.T, f *storetest.Fixture, o store.Order) store.Order {
	t.Helper()
	got, err := f.Store.Order(context.Background(), o.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCheckoutOpensOneStripeSessionPerOrder(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	if err := f.Store.EnableRegion(context.Background(), store.Region{Country: "DE", Name: "Germany"}, catalog.Edit{Editor: "t"}); err != nil && !errors.Is(err, catalog.ErrExists) {
		t.Fatal(err)
	}
	player := economytest.Player(t, f.Conn)
	o, err := f.Store.Checkout(context.Background(), player, "ref", f.Pack.ID, "same", "DE")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.StatusPending || o.CheckoutID == nil || o.CheckoutURL == "" || o.PriceCurrency != "eur" || o.PriceAmount != 899 || o.GrantAmount != 1100 {
		t.Fatalf("order = %+v", o)
	}
	again, err := f.Store.Checkout(context.Background(), player, "ref", f.Pack.ID, "same", "DE")
	if err != nil || again.PublicID != o.PublicID || !again.Replayed || *again.CheckoutID != *o.CheckoutID {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	if _, err := f.Store.Checkout(context.Background(), player, "ref", f.Offer.ID, "offer", ""); !errors.Is(err, store.ErrWrongKind) {
		t.Fatalf("an offer through checkout: %v", err)
	}
	if b := f.Balance(t, player, f.Premium); b != 0 {
		t.Fatalf("credited before payment: %d", b)
	}
}

func TestDuplicateEventsCreditOnce(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player := economytest.Player(t, f.Conn)
	o := checkout(t, f, player, "")
	ev := storetest.SessionCompleted(o, storetest.ID("pi"), true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 10 {
		wg.Go(func() {
			r, err := f.Store.RecordEvent(context.Background(), ev, "webhook")
			if err != nil {
				t.Errorf("record: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if r.New {
				fresh++
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d deliveries recorded as new, want 1", fresh)
	}
	// payment_intent.succeeded says the same again: still one credit.
	record(t, f, storetest.Event("payment_intent.succeeded", map[string]any{"id": *order(t, f, o).PaymentIntent, "object": "payment_intent",
		"status": "succeeded", "metadata": map[string]string{"order_id": o.PublicID}}))
	if b := f.Balance(t, player, f.Premium); b != 1100 {
		t.Fatalf("balance %d, want 1100", b)
	}
	if got := order(t, f, o); got.Status != store.StatusPaid || got.Credited != 1100 {
		t.Fatalf("order = %s credited %d", got.Status, got.Credited)
	}
	f.Verify(t)
}

func TestRefundBeforeCompletionEndsRefunded(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player := economytest.Player(t, f.Conn)
	o := checkout(t, f, player, "")
	pi, ch := storetest.ID("pi"), storetest.ID("ch")
	// The refund arrives first and names only the payment intent, which no
	// order knows yet (stripe-mock's payment intent carries no order id).
	if r := record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, o.PriceAmount)); r.Applied {
		t.Fatal("a refund for an unknown payment intent was applied")
	}
	record(t, f, storetest.SessionCompleted(o, pi, true))
	got := order(t, f, o)
	if got.Status != store.StatusRefunded || got.Credited != 1100 || got.ClawedBack != 1100 {
		t.Fatalf("order = %s credited %d clawed %d", got.Status, got.Credited, got.ClawedBack)
	}
	if b := f.Balance(t, player, f.Premium); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
	var waiting int
	if err := f.Conn.Get(&waiting, `SELECT count(*) FROM stripe_events WHERE applied_at IS NULL AND payment_intent = $1`, pi); err != nil || waiting != 0 {
		t.Fatalf("events still waiting: %d, %v", waiting, err)
	}
	// A late duplicate of the refund changes nothing.
	record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, o.PriceAmount))
	if b := f.Balance(t, player, f.Premium); b != 0 {
		t.Fatalf("balance after late duplicate %d", b)
	}
	f.Verify(t)
}

func TestDelayedPaymentsAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	p := f.Pack
	p.PurchaseLimit = 1
	p, err := f.Store.SaveProduct(ctx, p, catalog.Edit{Expected: p.Version, Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	player := economytest.Player(t, f.Conn)

	o := checkout(t, f, player, "")
	if _, err := f.Store.Checkout(ctx, player, "ref", p.ID, "second", ""); !errors.Is(err, store.ErrLimitReached) {
		t.Fatalf("second pending checkout of a limit-1 pack: %v", err)
	}
	pi := storetest.ID("pi")
	record(t, f, storetest.SessionCompleted(o, pi, false))
	if got := order(t, f, o); got.Status != store.StatusProcessing || got.Credited != 0 {
		t.Fatalf("awaiting a delayed payment: %s %d", got.Status, got.Credited)
	}
	record(t, f, storetest.SessionEvent("checkout.session.async_payment_failed", o, pi, "complete", "unpaid"))
	if got := order(t, f, o); got.Status != store.StatusFailed {
		t.Fatalf("after failure: %s", got.Status)
	}
	// The failed order gave its place under the limit back.
	o2 := checkout(t, f, player, "")
	record(t, f, storetest.SessionCompleted(o2, storetest.ID("pi"), false))
	record(t, f, storetest.SessionEvent("checkout.session.async_payment_succeeded", o2, *order(t, f, o2).PaymentIntent, "complete", "paid"))
	if got := order(t, f, o2); got.Status != store.StatusPaid || got.Credited != 1100 {
		t.Fatalf("after success: %s %d", got.Status, got.Credited)
	}

	other := economytest.Player(t, f.Conn)
	o3 := checkout(t, f, other, "")
	record(t, f, storetest.SessionEvent("checkout.session.expired", o3, "", "expired", "unpaid"))
	if got := order(t, f, o3); got.Status != store.StatusExpired {
		t.Fatalf("expired checkout: %s", got.Status)
	}
	f.Verify(t)
}

// paid makes a paid order of the pack for a new player and returns both.
func paid(t *testing.T, f *storetest.Fixture) (int64, store.Order, string, string) {
	t.Helper()
	player := economytest.Player(t, f.Conn)
	o := checkout(t, f, player, "")
	pi, ch := storetest.ID("pi"), storetest.ID("ch")
	record(t, f, storetest.SessionCompleted(o, pi, true))
	return player, order(t, f, o), pi, ch
}

// spend moves n premium currency out of the player's wallet.
func spend(t *testing.T, f *storetest.Fixture, player, n int64) {
	t.Helper()
	p := store.Product{ID: economytest.Name("spend"), Kind: store.KindOffer, Name: "Premium charm", PriceCurrency: f.Premium,
		PriceAmount: n, Items: f.CharmOne.Items}
	if _, err := f.Store.SaveProduct(context.Background(), p, catalog.Edit{Editor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Buy(context.Background(), player, p.ID, economytest.Name("spend"), ""); err != nil {
		t.Fatalf("spend: %v", err)
	}
}

func TestPartialRefundsClawBackTheirShare(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player, o, pi, ch := paid(t, f)
	record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, 333)) // a third of 999
	got := order(t, f, o)
	if got.Status != store.StatusPaid || got.ClawedBack != 366 { // 1100 × 333 / 999
		t.Fatalf("after a third: %s clawed %d", got.Status, got.ClawedBack)
	}
	// Refund events may arrive out of order: an older, smaller total changes nothing.
	record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, 100))
	record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, 999))
	got = order(t, f, o)
	if got.Status != store.StatusRefunded || got.ClawedBack != 1100 || f.Balance(t, player, f.Premium) != 0 {
		t.Fatalf("after all: %s clawed %d balance %d", got.Status, got.ClawedBack, f.Balance(t, player, f.Premium))
	}
	f.Verify(t)
}

func TestRefundOfSpentCurrencyByPolicy(t *testing.T) {
	t.Run("debt", func(t *testing.T) {
		f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
		player, o, pi, ch := paid(t, f)
		spend(t, f, player, 1000)
		record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, o.PriceAmount))
		if b := f.Balance(t, player, f.Premium); b != -1000 {
			t.Fatalf("balance %d, want -1000 (debt)", b)
		}
		if got := order(t, f, o); got.ClawedBack != 1100 || got.Shortfall != 0 {
			t.Fatalf("clawed %d shortfall %d", got.ClawedBack, got.Shortfall)
		}
		f.Verify(t)
	})
	t.Run("flag", func(t *testing.T) {
		f := storetest.New(t, testenv.DB(t), store.PolicyFlag)
		player, o, pi, ch := paid(t, f)
		spend(t, f, player, 1000)
		record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, o.PriceAmount))
		if b := f.Balance(t, player, f.Premium); b != 0 {
			t.Fatalf("balance %d, want 0", b)
		}
		got := order(t, f, o)
		if got.ClawedBack != 100 || got.Shortfall != 1000 {
			t.Fatalf("clawed %d shortfall %d", got.ClawedBack, got.Shortfall)
		}
		flags, err := f.Store.Flags(context.Background(), player)
		if err != nil || len(flags) != 1 || flags[0].Reason != "refund_shortfall" {
			t.Fatalf("flags = %+v, %v", flags, err)
		}
		f.Verify(t)
	})
	t.Run("revoke", func(t *testing.T) {
		f := storetest.New(t, testenv.DB(t), store.PolicyRevoke)
		player, o, pi, ch := paid(t, f)
		spend(t, f, player, 1000)
		if held(t, f, player, f.Charm.ID) != 1 {
			t.Fatal("the spend bought no charm")
		}
		record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, o.PriceAmount))
		if b := f.Balance(t, player, f.Premium); b != 0 {
			t.Fatalf("balance %d, want 0", b)
		}
		if n := held(t, f, player, f.Charm.ID); n != 0 {
			t.Fatalf("the charm bought with refunded currency is still held (%d)", n)
		}
		got := order(t, f, o)
		if got.ClawedBack != 1100 || got.Shortfall != 0 {
			t.Fatalf("clawed %d shortfall %d", got.ClawedBack, got.Shortfall)
		}
		orders, _ := f.Store.Orders(context.Background(), player, 0, 10)
		if orders[0].Kind != "virtual" || orders[0].Status != store.StatusRevoked {
			t.Fatalf("the virtual purchase is %s %s, want revoked", orders[0].Kind, orders[0].Status)
		}
		f.Verify(t)
	})
}

func TestChargebackFlagsAndWonDisputeGivesBack(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player, o, pi, ch := paid(t, f)
	spend(t, f, player, 600)
	record(t, f, storetest.Dispute("charge.dispute.created", pi, ch, "needs_response", o.PriceAmount))
	if b := f.Balance(t, player, f.Premium); b != -600 {
		t.Fatalf("balance after chargeback %d, want -600", b)
	}
	flags, _ := f.Store.Flags(context.Background(), player)
	if len(flags) != 1 || flags[0].Reason != "chargeback" {
		t.Fatalf("flags = %+v", flags)
	}
	record(t, f, storetest.Dispute("charge.dispute.closed", pi, ch, "won", o.PriceAmount))
	// A late update of the closed dispute does not reopen it.
	record(t, f, storetest.Dispute("charge.dispute.updated", pi, ch, "under_review", o.PriceAmount))
	if b := f.Balance(t, player, f.Premium); b != 500 {
		t.Fatalf("balance after the dispute was won %d, want 500", b)
	}
	got := order(t, f, o)
	if got.DisputeStatus != "won" || got.ClawedBack != 0 || got.Status != store.StatusPaid {
		t.Fatalf("order = %s dispute %s clawed %d", got.Status, got.DisputeStatus, got.ClawedBack)
	}
	f.Verify(t)
}

func TestUnusedEventTypesAreRecordedAndIgnored(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	r := record(t, f, storetest.Event("customer.created", map[string]any{"id": storetest.ID("cus"), "object": "customer"}))
	if !r.New || !r.Applied {
		t.Fatalf("recorded = %+v", r)
	}
}

// After a dispute is won, a refund still claws back its share: every
// movement has a key of its own even when the clawed-back total returns to
// a value it had before.
func TestRefundAfterAWonDisputeClawsBack(t *testing.T) {
	for _, refunded := range []int64{999, 333} {
		f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
		player, o, pi, ch := paid(t, f)
		record(t, f, storetest.Dispute("charge.dispute.created", pi, ch, "needs_response", o.PriceAmount))
		record(t, f, storetest.Dispute("charge.dispute.closed", pi, ch, "won", o.PriceAmount))
		if b := f.Balance(t, player, f.Premium); b != 1100 {
			t.Fatalf("balance after the dispute was won %d", b)
		}
		r := record(t, f, storetest.ChargeRefunded(pi, ch, o.PriceAmount, refunded))
		if !r.Applied {
			t.Fatalf("refund of %d not applied", refunded)
		}
		want := 1100 - 1100*refunded/999
		if b := f.Balance(t, player, f.Premium); b != want {
			t.Fatalf("refund of %d: balance %d, want %d", refunded, b, want)
		}
		f.Verify(t)
	}
}

// An inquiry (warning_needs_response) withdraws no money: nothing is
// clawed back and the account is not flagged.
func TestDisputeInquiryTakesNothing(t *testing.T) {
	f := storetest.New(t, testenv.DB(t), store.PolicyDebt)
	player, o, pi, ch := paid(t, f)
	record(t, f, storetest.Dispute("charge.dispute.created", pi, ch, "warning_needs_response", o.PriceAmount))
	record(t, f, storetest.Dispute("charge.dispute.closed", pi, ch, "warning_closed", o.PriceAmount))
	if b := f.Balance(t, player, f.Premium); b != 1100 {
		t.Fatalf("balance %d, want 1100", b)
	}
	if flags, _ := f.Store.Flags(context.Background(), player); len(flags) != 0 {
		t.Fatalf("flags = %+v", flags)
	}
}
