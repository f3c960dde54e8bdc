package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Trade is a two-party swap: the proposer's offered items wait in escrow
// until the counterparty accepts, which swaps both sides in one
// transaction, or either side cancels. Trades are off unless the trades
// feature flag is on.
type Trade struct {
	ID           int64      `db:"id" json:"id"`
	Proposer     int64      `db:"proposer" json:"-"`
	Counterparty int64      `db:"counterparty" json:"-"`
	Offered      []Line     `db:"-" json:"offered"`
	Requested    []Line     `db:"-" json:"requested"`
	Status       string     `db:"status" json:"status"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt    time.Time  `db:"expires_at" json:"expires_at"`
	ResolvedAt   *time.Time `db:"resolved_at" json:"resolved_at,omitempty"`
}

type tradeRow struct {
	Trade
	Offered   []byte `db:"offered"`
	Requested []byte `db:"requested"`
}

func (r tradeRow) trade() (Trade, error) {
	t := r.Trade
	if err := json.Unmarshal(r.Offered, &t.Offered); err != nil {
		return t, err
	}
	return t, json.Unmarshal(r.Requested, &t.Requested)
}

const tradeCols = `id, proposer, counterparty, offered, requested, status, created_at, expires_at, resolved_at`

// ProposeTrade puts the offered items in escrow and opens a trade.
func (s *Store) ProposeTrade(ctx context.Context, proposer, counterparty int64, offered, requested []Line, key string) (Trade, error) {
	if !s.cfg.TradesEnabled {
		return Trade{}, ErrTradesDisabled
	}
	if err := checkLines(offered); err != nil {
		return Trade{}, err
	}
	if err := checkLines(requested); err != nil {
		return Trade{}, err
	}
	if proposer == counterparty {
		return Trade{}, fmt.Errorf("%w: a trade is with another player", ErrInvalid)
	}
	var t Trade
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if err := checkFlag(ctx, tx, append(append([]Line{}, offered...), requested...), "tradable", ErrNotTradable); err != nil {
			return err
		}
		reqDoc, _ := json.Marshal(requested)
		full, err := playerKey("trade", proposer, key)
		if err != nil {
			return err
		}
		o, replay, err := s.begin(ctx, tx, full, proposer, "trade_propose", "trade", "",
			opHash("trade_propose", proposer, "trade", "", offered, fmt.Sprint(counterparty), string(reqDoc)))
		if err != nil {
			return err
		}
		var row tradeRow
		if replay != nil {
			if err := tx.GetContext(ctx, &row, `SELECT `+tradeCols+` FROM trades WHERE proposed_op = $1`, replay.OpID); err != nil {
				return fmt.Errorf("load trade of operation %d: %w", replay.OpID, err)
			}
			t, err = row.trade()
			return err
		}
		if _, err := s.consume(ctx, tx, o, offered); err != nil {
			return err
		}
		offDoc, _ := json.Marshal(offered)
		const q = `INSERT INTO trades (proposer, counterparty, offered, requested, expires_at, proposed_op)
			VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) RETURNING ` + tradeCols
		if err := tx.GetContext(ctx, &row, q, proposer, counterparty, offDoc, reqDoc, s.cfg.TradeTTL.Seconds(), o.id); err != nil {
			if db.IsForeignKeyViolation(err) {
				return ErrRecipientAbsent
			}
			return fmt.Errorf("record trade: %w", err)
		}
		t, err = row.trade()
		return err
	})
	return t, err
}

// AcceptTrade swaps both sides atomically: the counterparty's requested
// items go to the proposer and the escrowed items to the counterparty.
func (s *Store) AcceptTrade(ctx context.Context, counterparty, tradeID int64) (Trade, error) {
	return s.resolveTrade(ctx, tradeID, "completed", func(t Trade) error {
		if t.Counterparty != counterparty {
			return ErrTradeNotFound
		}
		if t.ExpiresAt.Before(time.Now()) {
			return ErrTradeClosed
		}
		return nil
	})
}

// CancelTrade returns the escrowed items to the proposer; either side may
// cancel an open trade.
func (s *Store) CancelTrade(ctx context.Context, accountID, tradeID int64) (Trade, error) {
	return s.resolveTrade(ctx, tradeID, "cancelled", func(t Trade) error {
		if t.Proposer != accountID && t.Counterparty != accountID {
			return ErrTradeNotFound
		}
		return nil
	})
}

// ExpireTrades closes up to batch open trades past their time, returning
// the escrow, and reports how many it closed. It runs even with trades
// turned off, so escrow never stays stuck.
func (s *Store) ExpireTrades(ctx context.Context, batch int) (int, error) {
	var ids []int64
	const q = `SELECT id FROM trades WHERE status = 'open' AND expires_at <= now() ORDER BY expires_at LIMIT $1`
	if err := s.conn.SelectContext(ctx, &ids, q, batch); err != nil {
		return 0, fmt.Errorf("list expired trades: %w", err)
	}
	n := 0
	for _, id := range ids {
		_, err := s.resolveTrade(ctx, id, "expired", func(Trade) error { return nil })
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrTradeClosed):
		default:
			return n, err
		}
	}
	return n, nil
}

func (s *Store) resolveTrade(ctx context.Context, tradeID int64, status string, allowed func(Trade) error) (Trade, error) {
	if status == "completed" && !s.cfg.TradesEnabled {
		return Trade{}, ErrTradesDisabled
	}
	var t Trade
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var row tradeRow
		err := tx.GetContext(ctx, &row, `SELECT `+tradeCols+` FROM trades WHERE id = $1 FOR UPDATE`, tradeID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTradeNotFound
		}
		if err != nil {
			return fmt.Errorf("load trade: %w", err)
		}
		if t, err = row.trade(); err != nil {
			return err
		}
		if err := allowed(t); err != nil {
			return err
		}
		if t.Status == status {
			return nil
		}
		if t.Status != "open" {
			return ErrTradeClosed
		}
		step := func(who int64, name string) (op, error) {
			o, _, err := s.begin(ctx, tx, fmt.Sprintf("trade:%d:%s", t.ID, name), who, "trade_"+name, "trade", "", opHash("trade", who, "trade", "", nil, name))
			return o, err
		}
		if status == "completed" {
			give, err := step(t.Counterparty, "give")
			if err != nil {
				return err
			}
			if _, err := s.consume(ctx, tx, give, t.Requested); err != nil {
				return err
			}
			if _, err := s.grant(ctx, tx, give, t.Offered, DuplicatesRefuse); err != nil {
				return err
			}
			take, err := step(t.Proposer, "take")
			if err != nil {
				return err
			}
			if _, err := s.grant(ctx, tx, take, t.Requested, DuplicatesRefuse); err != nil {
				return err
			}
		} else {
			back, err := step(t.Proposer, "return")
			if err != nil {
				return err
			}
			if _, err := s.grant(ctx, tx, back, t.Offered, DuplicatesSkip); err != nil {
				return err
			}
		}
		const q = `UPDATE trades SET status = $2, resolved_at = now() WHERE id = $1 RETURNING ` + tradeCols
		if err := tx.GetContext(ctx, &row, q, t.ID, status); err != nil {
			return fmt.Errorf("close trade: %w", err)
		}
		t, err = row.trade()
		return err
	})
	return t, err
}

// Trades returns a player's open trades, proposed and received, newest first.
func (s *Store) Trades(ctx context.Context, accountID int64) ([]Trade, error) {
	var rows []tradeRow
	const q = `SELECT ` + tradeCols + ` FROM trades WHERE (proposer = $1 OR counterparty = $1) AND status = 'open' ORDER BY id DESC LIMIT 100`
	if err := s.conn.SelectContext(ctx, &rows, q, accountID); err != nil {
		return nil, fmt.Errorf("list trades: %w", err)
	}
	out := make([]Trade, 0, len(rows))
	for _, r := range rows {
		t, err := r.trade()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
