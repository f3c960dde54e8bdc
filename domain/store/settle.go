package store

import (
	"context"
	"fmt"
	"math/big"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// settle brings the ledger in line with a real-money order's facts, by
// difference: a paid order has credited its currency once; money refunded
// or lost to a dispute takes back the same share of the currency (clawed
// back, or recorded as a shortfall when the refund policy could not); a
// dispute won gives back what its clawback took. A clawback goes to the
// refunds account, or to chargeback debt when a dispute caused it (dispute).
// Every movement's idempotency key names the order and its count of
// movements so far, which only grows.
func (s *Store) settle(ctx context.Context, tx *sqlx.Tx, o *Order, eventID string, dispute bool) error {
	if o.GrantCurrency == nil || o.GrantAmount <= 0 {
		return nil
	}
	cur := *o.GrantCurrency
	if o.Paid && o.Credited == 0 {
		_, err := s.ledger.Post(ctx, tx, ledger.Transfer{Key: "order:" + o.PublicID + ":credit", Source: "purchase",
			From: ledger.System(ledger.Minted), To: ledger.Player(o.AccountID), Currency: cur, Amount: o.GrantAmount,
			Memo: "order " + o.PublicID})
		if err != nil {
			return fmt.Errorf("credit order: %w", err)
		}
		o.Credited = o.GrantAmount
		o.note("credited", eventID, map[string]any{"currency": cur, "amount": o.GrantAmount})
	}
	target := int64(0)
	if o.Paid {
		lost := min(o.PriceAmount, o.RefundedAmount+o.DisputedAmount)
		target = share(o.GrantAmount, lost, o.PriceAmount)
	}
	source, account := "refund", ledger.Refunds
	if dispute {
		source, account = "chargeback", ledger.ChargebackDebt
	}
	owed := target - o.ClawedBack - o.Shortfall
	switch {
	case owed > 0:
		return s.clawback(ctx, tx, o, owed, source, account, eventID)
	case owed < 0:
		return s.giveBack(ctx, tx, o, -owed, eventID)
	}
	return nil
}

// share is amount × part / whole, rounded down, without overflow.
func share(amount, part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	r := new(big.Int).Mul(big.NewInt(amount), big.NewInt(part))
	return r.Quo(r, big.NewInt(whole)).Int64()
}

// clawback takes owed currency back from the player by the refund policy.
func (s *Store) clawback(ctx context.Context, tx *sqlx.Tx, o *Order, owed int64, source, account, eventID string) error {
	cur := *o.GrantCurrency
	key := moveKey(o)
	take := func(amount int64, suffix string, debt bool) error {
		_, err := s.ledger.Post(ctx, tx, ledger.Transfer{Key: key + suffix, Source: source, From: ledger.Player(o.AccountID),
			To: ledger.System(account), Currency: cur, Amount: amount, AllowDebt: debt, Memo: "order " + o.PublicID})
		if err != nil {
			return fmt.Errorf("claw back: %w", err)
		}
		o.ClawedBack += amount
		o.note("clawed_back", eventID, map[string]any{"currency": cur, "amount": amount, "policy": s.cfg.RefundPolicy, "source": source})
		return nil
	}
	if s.cfg.RefundPolicy == PolicyDebt {
		return take(owed, "", true)
	}
	balance, err := s.ledger.BalanceTx(ctx, tx, o.AccountID, cur)
	if err != nil {
		return err
	}
	if n := min(owed, max(balance, 0)); n > 0 {
		if err := take(n, "", false); err != nil {
			return err
		}
		owed -= n
	}
	if owed > 0 && s.cfg.RefundPolicy == PolicyRevoke {
		if owed, err = s.revoke(ctx, tx, o, owed, take, eventID); err != nil {
			return err
		}
	}
	if owed > 0 {
		o.Shortfall += owed
		o.note("shortfall", eventID, map[string]any{"currency": cur, "amount": owed, "policy": s.cfg.RefundPolicy})
		return flag(ctx, tx, o.AccountID, o.ID, "refund_shortfall")
	}
	return nil
}

// revoke undoes the player's newest virtual purchases in the clawed-back
// currency, whose items they still hold, until owed is covered: the items
// are taken, the price returns to the wallet and the owed part of it is
// taken back. It returns what is still owed.
func (s *Store) revoke(ctx context.Context, tx *sqlx.Tx, o *Order, owed int64, take func(int64, string, bool) error, eventID string) (int64, error) {
	var orders []Order
	const q = `SELECT ` + orderCols + ` FROM store_orders WHERE account_id = $1 AND kind = 'virtual' AND status = 'completed'
		AND price_currency = $2 ORDER BY id DESC LIMIT 50 FOR UPDATE`
	if err := tx.SelectContext(ctx, &orders, q, o.AccountID, *o.GrantCurrency); err != nil {
		return owed, fmt.Errorf("load purchases to revoke: %w", err)
	}
	for _, v := range orders {
		if owed <= 0 {
			break
		}
		if err := v.decode(); err != nil {
			return owed, err
		}
		held, err := s.inv.HoldsTx(ctx, tx, v.AccountID, v.Items)
		if err != nil {
			return owed, err
		}
		if !held {
			continue
		}
		memo := "revoked for order " + o.PublicID
		if _, err := s.inv.ConsumeTx(ctx, tx, inventory.Consume{Key: "order:" + v.PublicID + ":revoke", AccountID: v.AccountID,
			Source: "refund", Items: v.Items, Memo: memo}); err != nil {
			return owed, fmt.Errorf("revoke order %s: %w", v.PublicID, err)
		}
		if _, err := s.ledger.Post(ctx, tx, ledger.Transfer{Key: "order:" + v.PublicID + ":revoke-return", Source: "refund",
			From: ledger.System(ledger.StoreRevenue), To: ledger.Player(v.AccountID), Currency: v.PriceCurrency,
			Amount: v.PriceAmount, Memo: memo}); err != nil {
			return owed, fmt.Errorf("return price of order %s: %w", v.PublicID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE store_orders SET status = 'revoked', updated_at = now() WHERE id = $1`, v.ID); err != nil {
			return owed, err
		}
		if err := event(ctx, tx, v.ID, "revoked", eventID, map[string]any{"for_order": o.PublicID}); err != nil {
			return owed, err
		}
		n := min(owed, v.PriceAmount)
		if err := take(n, ":"+v.PublicID, false); err != nil {
			return owed, err
		}
		owed -= n
	}
	return owed, nil
}

// moveKey is the idempotency key of an order's next clawback or return;
// the order's count of movements makes it new each time, also after a
// return brought the clawed-back total down again.
func moveKey(o *Order) string {
	o.Moves++
	return "order:" + o.PublicID + ":move:" + strconv.Itoa(o.Moves)
}

// giveBack returns currency a clawback took when the loss shrank (only a
// dispute can shrink: won, or its funds reinstated): a recorded shortfall
// is forgiven first, then clawed-back currency returns to the wallet from
// chargeback debt.
func (s *Store) giveBack(ctx context.Context, tx *sqlx.Tx, o *Order, amount int64, eventID string) error {
	forgiven := min(amount, o.Shortfall)
	o.Shortfall -= forgiven
	amount -= forgiven
	if amount <= 0 {
		o.note("shortfall_forgiven", eventID, map[string]any{"amount": forgiven})
		return nil
	}
	_, err := s.ledger.Post(ctx, tx, ledger.Transfer{Key: moveKey(o),
		Source: "chargeback", From: ledger.System(ledger.ChargebackDebt), To: ledger.Player(o.AccountID), Currency: *o.GrantCurrency,
		Amount: amount, Memo: "dispute won, order " + o.PublicID})
	if err != nil {
		return fmt.Errorf("give back: %w", err)
	}
	o.ClawedBack -= amount
	o.note("reinstated", eventID, map[string]any{"currency": *o.GrantCurrency, "amount": amount, "forgiven": forgiven})
	return nil
}
