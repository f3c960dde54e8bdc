package match

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Review is a staff decision on a quarantined result: who, why, and what
// else must happen in the same transaction (the console's audit row).
type Review struct {
	Staff  string
	Reason string
	Also   func(tx *sqlx.Tx, before, after Match) error
}

// Release accepts a quarantined result as reported and publishes it.
func (s *Store) Release(ctx context.Context, matchID string, r Review) (Match, error) {
	return s.review(ctx, matchID, StatusAccepted, r)
}

// Discard drops a quarantined result: nobody's progression changes.
func (s *Store) Discard(ctx context.Context, matchID string, r Review) (Match, error) {
	return s.review(ctx, matchID, StatusDiscarded, r)
}

func (s *Store) review(ctx context.Context, matchID, status string, r Review) (Match, error) {
	var after Match
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var before Match
		err := tx.GetContext(ctx, &before, `SELECT `+matchCols+` FROM matches WHERE id = $1 FOR UPDATE`, matchID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrMatchNotFound
		case err != nil:
			return err
		case before.Status != StatusQuarantined:
			return ErrNotQuarantined
		}
		const upd = `UPDATE matches SET status = $2, reviewed_by = $3, reviewed_at = now() WHERE id = $1 RETURNING ` + matchCols
		if err := tx.GetContext(ctx, &after, upd, matchID, status, r.Staff); err != nil {
			return err
		}
		if status == StatusAccepted {
			var res Result
			if err := json.Unmarshal(before.Result, &res); err != nil {
				return fmt.Errorf("decode result: %w", err)
			}
			mode, err := LoadMode(ctx, tx, before.Mode)
			if err != nil {
				return err
			}
			if err := publish(ctx, tx, before, mode, res); err != nil {
				return err
			}
		}
		if r.Also != nil {
			return r.Also(tx, before, after)
		}
		return nil
	})
	return after, err
}

// List returns matches with status (all when empty), newest first.
func (s *Store) List(ctx context.Context, status string, limit int) ([]Match, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var out []Match
	q := `SELECT ` + matchCols + ` FROM matches WHERE ($1 = '' OR status = $1) ORDER BY started_at DESC LIMIT $2`
	err := s.conn.SelectContext(ctx, &out, q, status, limit)
	return out, err
}
