package reward

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Payout is one reward to one player. Key is its idempotency key: paying
// the same key again changes nothing.
type Payout struct {
	Key       string
	AccountID int64
	Reward    Reward
	Memo      string
}

// Payer pays rewards through the inventory and the ledger.
type Payer struct {
	inv *inventory.Store
	led *ledger.Ledger
}

// NewPayer returns a Payer.
func NewPayer(inv *inventory.Store, led *ledger.Ledger) *Payer { return &Payer{inv: inv, led: led} }

// PayTx pays every payout inside tx. Payouts to many players go in a few
// statements (one per round, where a round holds each player once); a
// round that cannot go as a whole (a key paid before, a duplicate of a
// unique item) is paid one payout at a time. Currency comes from the
// rewards system account. An item that does not fit is converted to its
// disenchant yield or, failing that, left out, so that a reward never
// blocks the match or event that earned it.
func (p *Payer) PayTx(ctx context.Context, tx *sqlx.Tx, payouts []Payout) error {
	rs := rounds(payouts)
	// Every round's currency before any item, the order a store purchase
	// locks them in, and currencies by code whatever order the rewards list
	// them in, so that payouts to the same player (two consumers of one
	// match, a purchase) take the player's wallets in one order and do not
	// deadlock.
	if err := p.payCurrencies(ctx, tx, rs); err != nil {
		return err
	}
	for _, round := range rs {
		if err := p.payItems(ctx, tx, round); err != nil {
			return err
		}
	}
	return nil
}

// rounds splits payouts so that each round names each player at most once,
// keeping their order.
func rounds(payouts []Payout) [][]Payout {
	var out [][]Payout
	next := map[int64]int{}
	for _, p := range payouts {
		if p.Reward.Empty() {
			continue
		}
		i := next[p.AccountID]
		next[p.AccountID] = i + 1
		if i == len(out) {
			out = append(out, nil)
		}
		out[i] = append(out[i], p)
	}
	return out
}

func (p *Payer) payItems(ctx context.Context, tx *sqlx.Tx, round []Payout) error {
	var grants []inventory.Grant
	for _, po := range round {
		if len(po.Reward.Items) > 0 {
			grants = append(grants, inventory.Grant{Key: po.Key, AccountID: po.AccountID, Source: "reward", Items: po.Reward.Items, Memo: po.Memo})
		}
	}
	if len(grants) == 0 {
		return nil
	}
	if len(grants) > 1 {
		err := db.Savepoint(ctx, tx, "reward_items", func() error {
			_, err := p.inv.GrantBatchTx(ctx, tx, grants)
			return err
		})
		if !errors.Is(err, inventory.ErrBatchRefused) {
			return err
		}
	}
	for _, g := range grants {
		grant := func() error {
			return db.Savepoint(ctx, tx, "reward_item", func() error {
				_, err := p.inv.GrantTx(ctx, tx, g)
				return err
			})
		}
		err := grant()
		if errors.Is(err, inventory.ErrUnknownItem) {
			// An item retired since the content that gives it was published
			// can no longer be granted: it is left out like one that does
			// not fit, and the rest of the reward is paid.
			if g.Items, err = grantable(ctx, tx, g.Items); err != nil {
				return fmt.Errorf("pay %s: %w", g.Key, err)
			}
			if len(g.Items) == 0 {
				continue
			}
			err = grant()
		}
		if err == nil {
			continue
		}
		if !isRefusal(err) {
			return fmt.Errorf("pay %s: %w", g.Key, err)
		}
		g.Duplicates = inventory.DuplicatesSkip
		if _, err := p.inv.GrantTx(ctx, tx, g); err != nil {
			return fmt.Errorf("pay %s: %w", g.Key, err)
		}
	}
	return nil
}

// payCurrencies pays the currency of every round: currency by currency in
// the order of their codes, each round of a currency in one batch.
func (p *Payer) payCurrencies(ctx context.Context, tx *sqlx.Tx, rounds [][]Payout) error {
	byCurrency := map[string][][]ledger.Transfer{} // currency -> round -> transfers
	for r, round := range rounds {
		for _, po := range round {
			for _, a := range po.Reward.Currencies {
				per := byCurrency[a.Currency]
				for len(per) <= r {
					per = append(per, nil)
				}
				per[r] = append(per[r], ledger.Transfer{
					Key: po.Key + ":" + a.Currency, Source: "reward", From: ledger.System(ledger.Rewards), To: ledger.Player(po.AccountID),
					Currency: a.Currency, Amount: a.Amount, Memo: po.Memo,
				})
				byCurrency[a.Currency] = per
			}
		}
	}
	for _, cur := range slices.Sorted(maps.Keys(byCurrency)) {
		for _, ts := range byCurrency[cur] {
			if err := p.payTransfers(ctx, tx, ts); err != nil {
				return err
			}
		}
	}
	return nil
}

// payTransfers posts the transfers of one currency and round: in one batch,
// or one at a time when the batch is refused.
func (p *Payer) payTransfers(ctx context.Context, tx *sqlx.Tx, ts []ledger.Transfer) error {
	if len(ts) > 1 {
		err := db.Savepoint(ctx, tx, "reward_currency", func() error {
			_, err := p.led.PostBatch(ctx, tx, ts)
			return err
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, ledger.ErrBatchRefused) {
			return err
		}
	}
	for _, t := range ts {
		if _, err := p.led.Post(ctx, tx, t); err != nil {
			return fmt.Errorf("pay %s: %w", t.Key, err)
		}
	}
	return nil
}

// grantable returns the lines of items that exist and are not retired.
func grantable(ctx context.Context, tx *sqlx.Tx, lines []inventory.Line) ([]inventory.Line, error) {
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.ItemID
	}
	var live []string
	if err := tx.SelectContext(ctx, &live, `SELECT id FROM catalog_items WHERE id = ANY($1) AND NOT retired`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("load reward items: %w", err)
	}
	return slices.DeleteFunc(slices.Clone(lines), func(l inventory.Line) bool { return !slices.Contains(live, l.ItemID) }), nil
}

// isRefusal reports whether err is the inventory refusing a grant (an item
// that does not fit), as opposed to a failure of the database.
func isRefusal(err error) bool {
	return errors.Is(err, inventory.ErrStackFull) || errors.Is(err, inventory.ErrAlreadyOwned)
}
