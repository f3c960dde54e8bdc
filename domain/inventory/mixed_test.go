package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/test/testenv"
)

// TestLedgerBalancesAfterRandomizedMixedOperations runs thousands of
// grants, consumes, transfers, crafts, disenchants and gifts from several
// goroutines, retrying some with their old keys, and then proves the ledger.
func TestLedgerBalancesAfterRandomizedMixedOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	conn := testenv.DB(t)
	f := newFixture(t, inventory.Config{})
	ctx := context.Background()
	coin := economytest.Currency(t, conn, "soft")
	scrap := economytest.Item(t, conn, func(it *catalog.Item) {
		it.MaxStack, it.Giftable, it.DisenchantCurrency, it.DisenchantYield = 100_000, true, &coin, 2
	})
	skin := economytest.Item(t, conn, func(it *catalog.Item) {
		it.MaxStack, it.Kind, it.Giftable, it.DisenchantCurrency, it.DisenchantYield = 1, "skin", true, &coin, 50
	})
	recipe, err := catalog.NewStore(conn).SaveRecipe(ctx, catalog.Recipe{ID: economytest.Name("r."), OutputItem: skin.ID, OutputQuantity: 1,
		Inputs: []catalog.Ingredient{{ItemID: scrap.ID, Quantity: 5}}, CostCurrency: &coin, CostAmount: 20}, catalog.Edit{Editor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	players := make([]int64, 6)
	for i := range players {
		players[i] = economytest.Player(t, conn)
	}

	const workers, opsEach = 8, 300
	prefix := economytest.Name("mixed-") // keys of earlier runs in the same database stay apart
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var done []func() error // operations run so far, to retry with their keys
			for n := range opsEach {
				key := fmt.Sprintf("%s-%d-%d", prefix, w, n)
				p, q := players[rng.IntN(len(players))], players[rng.IntN(len(players))]
				qty, amount := 1+rng.IntN(20), int64(1+rng.IntN(100))
				op := rng.IntN(8)
				var run func() error
				switch op {
				case 0:
					run = func() error {
						_, err := f.inv.Grant(ctx, inventory.Grant{Key: key, AccountID: p, Source: "reward", Items: []inventory.Line{{ItemID: scrap.ID, Quantity: qty}}})
						return err
					}
				case 1:
					run = func() error {
						_, err := f.inv.Grant(ctx, inventory.Grant{Key: key, AccountID: p, Source: "reward", Items: []inventory.Line{{ItemID: skin.ID, Quantity: 1}}})
						return err
					}
				case 2:
					run = func() error {
						_, err := f.l.Transfer(ctx, ledger.Transfer{Key: key, Source: "reward", From: ledger.System(ledger.Rewards), To: ledger.Player(p), Currency: coin, Amount: amount})
						return err
					}
				case 3:
					if p == q {
						q = players[(slices.Index(players, p)+1)%len(players)]
					}
					gift := amount/2 + 1
					if rng.IntN(2) == 0 {
						gift = amount * 100 // more than a player usually holds, so some are refused
					}
					run = func() error {
						_, err := f.l.Transfer(ctx, ledger.Transfer{Key: key, Source: "gift", From: ledger.Player(p), To: ledger.Player(q), Currency: coin, Amount: gift})
						return err
					}
				case 4:
					run = func() error { _, err := f.inv.Craft(ctx, p, recipe.ID, key); return err }
				case 5:
					run = func() error { _, err := f.inv.Disenchant(ctx, p, scrap.ID, 1+qty/4, key); return err }
				case 6:
					run = func() error { _, err := f.inv.Disenchant(ctx, p, skin.ID, 1, key); return err }
				case 7:
					if p == q {
						q = players[(slices.Index(players, p)+1)%len(players)]
					}
					accept := rng.IntN(2) == 0
					run = func() error {
						g, err := f.inv.SendGift(ctx, p, q, []inventory.Line{{ItemID: scrap.ID, Quantity: 1 + qty/5}}, "", key)
						if err != nil {
							return err
						}
						if accept {
							_, err = f.inv.AcceptGift(ctx, q, g.ID)
						} else {
							_, err = f.inv.DeclineGift(ctx, q, g.ID)
						}
						return err
					}
				}
				if len(done) > 0 && rng.IntN(10) == 0 {
					run, op = done[rng.IntN(len(done))], 8 // a retry of an earlier operation
				} else {
					done = append(done, run)
				}
				err := run()
				name := fmt.Sprint(op)
				switch {
				case err == nil:
					name += " ok"
				case errors.Is(err, ledger.ErrInsufficientFunds), errors.Is(err, inventory.ErrNotEnoughItems),
					errors.Is(err, inventory.ErrAlreadyOwned), errors.Is(err, inventory.ErrGiftClosed):
					name += " refused"
				default:
					t.Errorf("operation %d: %v", op, err)
					return
				}
				mu.Lock()
				counts[name]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("outcomes: %v", counts)
	sum, err := ledger.Verify(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Transfers < 500 {
		t.Errorf("only %d transfers: the run did too little to prove anything", sum.Transfers)
	}
	for _, outcome := range []string{"0 ok", "1 ok", "2 ok", "3 ok", "3 refused", "4 ok", "5 ok", "6 ok", "7 ok", "8 ok"} {
		if counts[outcome] == 0 {
			t.Errorf("no operation had outcome %q: %v", outcome, counts)
		}
	}
	// Every item a player holds is accounted for by the journal.
	var drift []string
	const q = `SELECT format('%s %s: holds %s, journal says %s', i.account_id, i.item_id, i.quantity, sum(c.delta))
		FROM inventory_items i JOIN inventory_changes c ON c.account_id = i.account_id AND c.item_id = i.item_id
		GROUP BY i.account_id, i.item_id, i.quantity HAVING sum(c.delta) <> i.quantity`
	if err := conn.Select(&drift, q); err != nil || len(drift) > 0 {
		t.Errorf("inventory drift %v, %v", drift, err)
	}
}
