// Package reward pays what the metagame gives: level-up, prestige, battle
// pass tier, challenge and unlock rewards, each a set of items and currency
// amounts. A payout moves through the inventory and the ledger under an
// idempotency key of its own, in the caller's transaction, so a retried
// match or a replayed event never pays twice.
package reward

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
)

// Reward is items and currency given together.
type Reward struct {
	Items      []inventory.Line `json:"items,omitempty"`
	Currencies []Amount         `json:"currencies,omitempty"`
}

// Amount is an amount of a currency.
type Amount struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// Empty reports whether r gives nothing.
func (r Reward) Empty() bool { return len(r.Items) == 0 && len(r.Currencies) == 0 }

// Plus returns r and o together.
func (r Reward) Plus(o Reward) Reward {
	out := Reward{}
	qty := map[string]int{}
	var order []string
	for _, l := range append(append([]inventory.Line{}, r.Items...), o.Items...) {
		if _, ok := qty[l.ItemID]; !ok {
			order = append(order, l.ItemID)
		}
		qty[l.ItemID] += l.Quantity
	}
	for _, id := range order {
		out.Items = append(out.Items, inventory.Line{ItemID: id, Quantity: qty[id]})
	}
	amt := map[string]int64{}
	var cur []string
	for _, a := range append(append([]Amount{}, r.Currencies...), o.Currencies...) {
		if _, ok := amt[a.Currency]; !ok {
			cur = append(cur, a.Currency)
		}
		amt[a.Currency] += a.Amount
	}
	for _, c := range cur {
		out.Currencies = append(out.Currencies, Amount{Currency: c, Amount: amt[c]})
	}
	return out
}

// MaxAmount bounds one currency amount of a reward.
const MaxAmount = 1_000_000_000

// Check validates r as content: every item known and not retired, every
// currency known, quantities and amounts positive, nothing listed twice.
// field names the reward in the document, for the error.
func Check(ctx context.Context, q sqlx.QueryerContext, field string, r Reward) error {
	if len(r.Items) > inventory.MaxLines {
		return content.Invalid(field+".items", "at most %d items", inventory.MaxLines)
	}
	seen := map[string]bool{}
	for i, l := range r.Items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		if l.Quantity <= 0 || l.Quantity > 10_000 {
			return content.Invalid(f, "quantity must be 1 to 10000")
		}
		if seen[l.ItemID] {
			return content.Invalid(f, "%s is listed twice", l.ItemID)
		}
		seen[l.ItemID] = true
		var retired bool
		err := sqlx.GetContext(ctx, q, &retired, `SELECT retired FROM catalog_items WHERE id = $1`, l.ItemID)
		if err != nil || retired {
			return content.Invalid(f, "unknown or retired item %q", l.ItemID)
		}
	}
	seenCur := map[string]bool{}
	for i, a := range r.Currencies {
		f := fmt.Sprintf("%s.currencies[%d]", field, i)
		if a.Amount <= 0 || a.Amount > MaxAmount {
			return content.Invalid(f, "amount must be 1 to %d", MaxAmount)
		}
		if seenCur[a.Currency] {
			return content.Invalid(f, "%s is listed twice", a.Currency)
		}
		seenCur[a.Currency] = true
		var retired bool
		err := sqlx.GetContext(ctx, q, &retired, `SELECT retired FROM currencies WHERE code = $1`, a.Currency)
		if err != nil || retired {
			return content.Invalid(f, "unknown or retired currency %q", a.Currency)
		}
	}
	return nil
}
