package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Buy is a virtual purchase: it debits the offer's price from the player's
// wallet, grants its items and records the order, in one transaction. The
// schedule and the purchase limit are checked here, at purchase time. A
// retry with the same key answers the first order. A unique item the player
// already owns refuses the purchase (inventory.ErrAlreadyOwned) and nothing
// is charged. Purchases of offers without a limit arriving together are
// written in batches (batch.go); the outcome is the same.
func (s *Store) Buy(ctx context.Context, accountID int64, productID, key, country string) (Order, error) {
	idem, err := orderKey(accountID, key)
	if err != nil {
		return Order{}, err
	}
	hash := requestHash("virtual", productID, strconv.FormatInt(accountID, 10))
	if p, err := s.products.get(ctx, s.conn, productID); err == nil && p.Kind == KindOffer && p.PurchaseLimit == 0 && p.OnSale(s.now()) {
		o, err := s.purchases.Do(ctx, purchase{key: idem, hash: hash, accountID: accountID, product: p, country: country})
		if !errors.Is(err, db.ErrAlone) {
			return o, err
		}
	}
	var o Order
	buy := func(tx *sqlx.Tx) error {
		p, err := s.products.get(ctx, tx, productID)
		if err != nil {
			return err
		}
		if p.Kind != KindOffer {
			return fmt.Errorf("%w: %s is bought with real money (checkout)", ErrWrongKind, p.ID)
		}
		o, err = s.insertOrder(ctx, tx, newOrder{key: idem, hash: hash,
			kind: "virtual", status: StatusCompleted, country: country, accountID: accountID, product: p,
			priceCurrency: p.PriceCurrency, priceAmount: p.PriceAmount})
		if err != nil || o.Replayed {
			return err
		}
		if !p.OnSale(s.now()) {
			return ErrNotOnSale
		}
		if err := s.takeLimit(ctx, tx, accountID, p); err != nil {
			return err
		}
		memo := "order " + o.PublicID
		_, err = s.ledger.Post(ctx, tx, ledger.Transfer{Key: "order:" + o.PublicID + ":pay", Source: "purchase",
			From: ledger.Player(accountID), To: ledger.System(ledger.StoreRevenue), Currency: p.PriceCurrency,
			Amount: p.PriceAmount, Memo: memo})
		if err != nil {
			return err
		}
		_, err = s.inv.GrantTx(ctx, tx, inventory.Grant{Key: "order:" + o.PublicID + ":items", AccountID: accountID,
			Source: "purchase", Items: p.Items, Duplicates: inventory.DuplicatesRefuse, Memo: memo})
		return err
	}
	if err := s.whileUnchanged(ctx, productID, buy); err != nil {
		return Order{}, err
	}
	return o, nil
}

// Checkout starts a real-money purchase of a pack: it records a pending
// order at the player's regional price and opens a Stripe Checkout Session
// for it (Stripe idempotency key from the order). A retry with the same key
// answers the same order and session, and opens the session when the first
// attempt could not reach Stripe. The currency is credited when Stripe says
// the payment succeeded (ApplyEvent).
func (s *Store) Checkout(ctx context.Context, accountID int64, playerRef, productID, key, country string) (Order, error) {
	if s.payments == nil {
		return Order{}, ErrPaymentsOff
	}
	idem, err := orderKey(accountID, key)
	if err != nil {
		return Order{}, err
	}
	var o Order
	var p Product
	open := func(tx *sqlx.Tx) error {
		p, err = getProduct(ctx, tx, productID) // checkouts are few: read afresh
		if err != nil {
			return err
		}
		if p.Kind != KindPack {
			return fmt.Errorf("%w: %s is bought with virtual currency", ErrWrongKind, p.ID)
		}
		reg, err := region(ctx, tx, country)
		if err != nil {
			return err
		}
		price, ok := p.PriceFor(reg)
		if !ok {
			return ErrNotOnSale
		}
		grant := p.GrantCurrency
		o, err = s.insertOrder(ctx, tx, newOrder{key: idem, hash: requestHash("real", p.ID, strconv.FormatInt(accountID, 10), country),
			kind: "real", status: StatusPending, country: reg, accountID: accountID, product: p,
			priceCurrency: price.Currency, priceAmount: price.Amount, grantCurrency: &grant, grantAmount: p.Total()})
		if err != nil || o.Replayed {
			return err
		}
		if !p.OnSale(s.now()) {
			return ErrNotOnSale
		}
		if err := s.takeLimit(ctx, tx, accountID, p); err != nil {
			return err
		}
		return event(ctx, tx, o.ID, "created", "", map[string]any{"price": price, "grant": p.Total(), "currency": grant})
	}
	err = s.whileUnchanged(ctx, productID, open)
	if err != nil {
		return Order{}, err
	}
	if o.CheckoutID != nil || o.Status != StatusPending {
		return o, nil
	}
	if p.ID == "" {
		if p, err = s.Product(ctx, o.ProductID); err != nil {
			return o, err
		}
	}
	cs, err := s.payments.CreateCheckout(ctx, CheckoutRequest{
		OrderID: o.PublicID, Key: "muster-checkout-" + o.PublicID, Name: p.Name,
		Currency: o.PriceCurrency, Amount: o.PriceAmount, CustomerRef: playerRef,
		SuccessURL: strings.ReplaceAll(s.cfg.SuccessURL, "{ORDER_ID}", o.PublicID),
		CancelURL:  strings.ReplaceAll(s.cfg.CancelURL, "{ORDER_ID}", o.PublicID),
	})
	if err != nil {
		return o, err
	}
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		const q = `UPDATE store_orders SET checkout_id = $2, checkout_url = $3, updated_at = now()
			WHERE id = $1 AND checkout_id IS NULL`
		res, err := tx.ExecContext(ctx, q, o.ID, cs.ID, cs.URL)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return event(ctx, tx, o.ID, "checkout_created", "", map[string]any{"checkout": cs.ID})
		}
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("record checkout: %w", err)
	}
	out, err := loadOrder(ctx, s.conn, "id = $1", "", o.ID)
	out.Replayed = o.Replayed
	return out, err
}

// whileUnchanged runs fn in a transaction, again (up to three times) when
// the product changed while fn priced it, each time with the product read
// afresh.
func (s *Store) whileUnchanged(ctx context.Context, productID string, fn func(tx *sqlx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.InTx(ctx, s.conn, nil, fn)
		if !errors.Is(err, errProductChanged) || attempt == 2 {
			return err
		}
		s.products.forget(productID)
	}
}
