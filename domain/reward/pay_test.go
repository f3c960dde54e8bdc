package reward_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// waitForLock waits until the backend pid waits on a lock.
func waitForLock(t *testing.T, conn *sqlx.DB, pid int) {
	t.Helper()
	for range 500 {
		var waiting bool
		if err := conn.Get(&waiting, `SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, pid); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("backend %d never waited on a lock", pid)
}

// Payouts to one player that list the same currencies in other orders (a
// level reward of coins and gems, a battle pass tier of gems and coins, paid
// by two consumers of one match at once), in one payout or over several,
// must not deadlock: a deadlock costs a consumer one of its ten attempts,
// and a player's request a retry.
func TestPayoutsListingCurrenciesInAnotherOrderDoNotDeadlock(t *testing.T) {
	conn := testenv.DB(t)
	ctx := context.Background()
	led := ledger.New(conn)
	payer := reward.NewPayer(inventory.NewStore(conn, led, inventory.Config{}), led)
	a := economytest.Player(t, conn)
	x, y := economytest.Currency(t, conn, "soft"), economytest.Currency(t, conn, "soft")
	// pay pays the player one payout per list of currencies.
	pay := func(tx *sqlx.Tx, payouts ...[]string) error {
		var ps []reward.Payout
		for _, currencies := range payouts {
			po := reward.Payout{Key: economytest.Name("k"), AccountID: a, Memo: "test"}
			for _, c := range currencies {
				po.Reward.Currencies = append(po.Reward.Currencies, reward.Amount{Currency: c, Amount: 1})
			}
			ps = append(ps, po)
		}
		return payer.PayTx(ctx, tx, ps)
	}
	// The player's wallets exist, so that each transfer locks its row.
	tx := conn.MustBegin()
	if err := pay(tx, []string{x, y}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	for name, second := range map[string][][]string{
		"one payout each":  {{y, x}},
		"over two payouts": {{y}, {x}},
	} {
		t.Run(name, func(t *testing.T) {
			// A third transaction holds x's wallet while two payouts line
			// up behind it: the first, of x and y, waits on x; the second,
			// of y and x, takes y and waits on x.
			blocker := conn.MustBegin()
			defer blocker.Rollback()
			if _, err := blocker.Exec(`SELECT 1 FROM ledger_accounts WHERE holder = $1 AND currency = $2 FOR UPDATE`, string(ledger.Player(a)), x); err != nil {
				t.Fatal(err)
			}
			run := func(payouts ...[]string) chan error {
				tx := conn.MustBegin()
				var pid int
				if err := tx.Get(&pid, `SELECT pg_backend_pid()`); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					err := pay(tx, payouts...)
					if err == nil {
						err = tx.Commit()
					} else {
						_ = tx.Rollback()
					}
					done <- err
				}()
				waitForLock(t, conn, pid)
				return done
			}
			dones := []chan error{run([]string{x, y}), run(second...)}
			if err := blocker.Rollback(); err != nil {
				t.Fatal(err)
			}
			for i, done := range dones {
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("payout %d: %v", i+1, err)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("payout %d did not finish", i+1)
				}
			}
		})
	}
}
