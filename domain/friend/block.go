package friend

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Block blocks the player with public id playerID: any friendship or
// request between the two ends, both ways, and the player is not told
// (their list simply no longer shows you). Blocking again changes
// nothing. Banned players may be blocked; deleted ones are ErrNotFound.
func (s *Store) Block(ctx context.Context, accountID int64, playerID string) error {
	return s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		if p.mine == StateBlocked {
			return nil
		}
		c, err := countsOf(ctx, tx, p.me.ID)
		if err != nil {
			return err
		}
		if c.Blocked >= s.cfg.MaxBlocked {
			return fmt.Errorf("%w: you have blocked %d players, the most allowed; unblock some first", ErrLimit, c.Blocked)
		}
		if p.theirs != "" && p.theirs != StateBlocked {
			if err := p.dropTheirs(ctx, tx); err != nil {
				return err
			}
		}
		return p.setMine(ctx, tx, StateBlocked)
	})
}

// Unblock lifts the player's block of the player with public id playerID:
// ErrNotBlocked when there is none. A request they sent while blocked
// is dropped, as if declined.
func (s *Store) Unblock(ctx context.Context, accountID int64, playerID string) error {
	return s.change(ctx, accountID, playerID, func(tx *sqlx.Tx, p *pair) error {
		if p.mine != StateBlocked {
			return ErrNotBlocked
		}
		if p.theirs == StateOutgoing {
			if err := p.dropTheirs(ctx, tx); err != nil {
				return err
			}
		}
		return p.dropMine(ctx, tx)
	})
}
