package challenge

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Current returns the player's daily and weekly challenges for the periods
// containing now in their region, drawing a set the first time it is read.
// ErrNotConfigured: no rotation is published.
func (s *Store) Current(ctx context.Context, accountID int64, now time.Time) (View, error) {
	var v View
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		p, err := s.plan(ctx, tx)
		if err != nil {
			return err
		}
		wants, err := s.wants(ctx, tx, p, accountID, now)
		if err != nil {
			return err
		}
		v, err = s.view(ctx, tx, p, accountID, wants)
		return err
	})
	return v, err
}
