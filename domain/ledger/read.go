package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Balance is a player's holding of one currency.
type Balance struct {
	Currency string `db:"currency" json:"currency"`
	Balance  int64  `db:"balance" json:"balance"`
}

// Balances returns a player's wallets by currency.
func (l *Ledger) Balances(ctx context.Context, accountID int64) ([]Balance, error) {
	out := []Balance{}
	const q = `SELECT currency, balance FROM ledger_accounts WHERE holder = $1 ORDER BY currency`
	if err := l.conn.SelectContext(ctx, &out, q, string(Player(accountID))); err != nil {
		return nil, fmt.Errorf("load balances: %w", err)
	}
	return out, nil
}

// Line is one entry of a holder's history.
type Line struct {
	TransferID   int64     `db:"transfer_id" json:"transfer_id"`
	At           time.Time `db:"at" json:"at"`
	Currency     string    `db:"currency" json:"currency"`
	Amount       int64     `db:"amount" json:"amount"` // negative when it left the account
	BalanceAfter int64     `db:"balance_after" json:"balance_after"`
	Source       string    `db:"source" json:"source"`
	Memo         string    `db:"memo" json:"memo"`
	Counterparty string    `db:"counterparty" json:"counterparty"` // the other side's holder
}

// History returns a holder's entries, newest first, in one currency or all
// ("" ), older than transfer id before (0: from the newest), at most limit
// (1 to 200).
func (l *Ledger) History(ctx context.Context, h Holder, currency string, before int64, limit int) ([]Line, error) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	const q = `SELECT e.transfer_id, e.at, a.currency, e.amount, coalesce(e.balance_after, 0) AS balance_after, t.source, t.memo, o.holder AS counterparty
		FROM ledger_accounts a
		JOIN LATERAL (SELECT * FROM ledger_entries e WHERE e.account_id = a.id AND e.transfer_id < $3
			ORDER BY e.transfer_id DESC LIMIT $4) e ON true
		JOIN ledger_transfers t ON t.id = e.transfer_id
		JOIN ledger_entries oe ON oe.transfer_id = e.transfer_id AND oe.account_id <> a.id
		JOIN ledger_accounts o ON o.id = oe.account_id
		WHERE a.holder = $1 AND ($2 = '' OR a.currency = $2)
		ORDER BY e.transfer_id DESC LIMIT $4`
	out := []Line{}
	if err := l.conn.SelectContext(ctx, &out, q, string(h), currency, before, limit); err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	return out, nil
}

// BalanceTx reads a player's balance of currency inside tx and locks the
// wallet until tx ends, so that what the caller decides from it holds (a
// clawback takes what the wallet holds). A wallet never credited is 0.
func (l *Ledger) BalanceTx(ctx context.Context, tx *sqlx.Tx, accountID int64, currency string) (int64, error) {
	var b int64
	const q = `SELECT balance FROM ledger_accounts WHERE holder = $1 AND currency = $2 FOR UPDATE`
	err := tx.GetContext(ctx, &b, q, string(Player(accountID)), currency)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load balance: %w", err)
	}
	return b, nil
}
