package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ErrBroken means the stored ledger does not balance; Verify returns a
// *BreakError that matches it.
var ErrBroken = errors.New("ledger does not balance")

// BreakError is the first break Verify found.
type BreakError struct {
	Check  string
	Detail string
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("ledger does not balance: %s: %s", e.Check, e.Detail)
}

// Is makes a BreakError match ErrBroken.
func (e *BreakError) Is(target error) bool { return target == ErrBroken }

// Summary is what Verify looked at.
type Summary struct {
	Transfers int64
	Entries   int64
	Accounts  int64
}

// checks run in order; each selects one text describing the first break,
// or no row.
var checks = []struct{ name, q string }{
	{"orphan entry", `SELECT format('entry of transfer %s in account %s: its transfer or account does not exist', e.transfer_id, e.account_id)
		FROM ledger_entries e
		WHERE NOT EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.id = e.transfer_id)
			OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = e.account_id)
		ORDER BY e.transfer_id LIMIT 1`},
	{"transfer", `SELECT format('transfer %s (%s): %s entries summing to %s, amounts %s, accounts in %s',
			t.id, t.idem_key, count(e.account_id), coalesce(sum(e.amount), 0), string_agg(e.amount::text, ' '), string_agg(DISTINCT a.currency, ' '))
		FROM ledger_transfers t
		LEFT JOIN ledger_entries e ON e.transfer_id = t.id
		LEFT JOIN ledger_accounts a ON a.id = e.account_id
		GROUP BY t.id
		HAVING count(e.account_id) <> 2 OR coalesce(sum(e.amount), 0) <> 0
			OR bool_or(abs(e.amount) <> t.amount) OR bool_or(a.currency <> t.currency)
		ORDER BY t.id LIMIT 1`},
	{"balance", `SELECT format('account %s (%s %s): balance %s, entries sum to %s', a.id, a.holder, a.currency, a.balance, coalesce(s.total, 0))
		FROM ledger_accounts a
		LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
		WHERE a.account_id IS NOT NULL AND a.balance <> coalesce(s.total, 0)
		ORDER BY a.id LIMIT 1`},
	{"negative wallet", `SELECT format('account %s (%s %s): balance %s without a chargeback or refund clawback', a.id, a.holder, a.currency, a.balance)
		FROM ledger_accounts a
		WHERE a.account_id IS NOT NULL AND a.balance < 0 AND NOT EXISTS (
			SELECT 1 FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
			WHERE e.account_id = a.id AND t.source IN ('chargeback', 'refund') AND e.amount < 0)
		ORDER BY a.id LIMIT 1`},
	{"conservation", `SELECT format('currency %s: wallets hold %s, system accounts issued %s', a.currency,
			sum(a.balance) FILTER (WHERE a.account_id IS NOT NULL), -coalesce(sum(e.total) FILTER (WHERE a.account_id IS NULL), 0))
		FROM ledger_accounts a
		LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
		GROUP BY a.currency
		HAVING coalesce(sum(a.balance) FILTER (WHERE a.account_id IS NOT NULL), 0) + coalesce(sum(e.total) FILTER (WHERE a.account_id IS NULL), 0) <> 0
		ORDER BY a.currency LIMIT 1`},
}

// Verify checks that every transfer is two entries that balance, in its
// currency and for its amount; that every wallet's balance equals the sum
// of its entries; that no player wallet is negative except after a
// chargeback or refund clawback; and that, in each currency, the wallets hold exactly what
// the system accounts issued. It reads one consistent
// snapshot and returns the first break as a *BreakError.
func Verify(ctx context.Context, conn *sqlx.DB) (Summary, error) {
	var sum Summary
	tx, err := conn.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return sum, err
	}
	defer tx.Rollback()
	for _, c := range checks {
		var detail string
		err := tx.GetContext(ctx, &detail, c.q)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("ledger check %s: %w", c.name, err)
		}
		return sum, &BreakError{Check: c.name, Detail: detail}
	}
	const q = `SELECT (SELECT count(*) FROM ledger_transfers) AS transfers, (SELECT count(*) FROM ledger_entries) AS entries,
		(SELECT count(*) FROM ledger_accounts) AS accounts`
	if err := tx.GetContext(ctx, &sum, q); err != nil {
		return sum, fmt.Errorf("count ledger: %w", err)
	}
	return sum, nil
}
