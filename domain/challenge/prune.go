package challenge

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch is how many sets one statement of Prune deletes, so that no
// statement holds its locks for long.
const pruneBatch = 5000

// Prune deletes the sets whose period ended before before, with their
// challenges and rerolls, and returns how many sets it deleted. Keep more
// than the longest an accepted match may wait in the outbox (a few days):
// a match applied to a pruned period would draw that period's set again.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	const del = `
DELETE FROM challenge_sets WHERE (account_id, period) IN (
    SELECT account_id, period FROM challenge_sets WHERE ends_at < $1 LIMIT $2
)`
	var total int64
	for {
		res, err := s.conn.ExecContext(ctx, del, before, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune challenge sets: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
