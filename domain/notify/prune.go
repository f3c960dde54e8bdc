package notify

import (
	"context"
	"fmt"
	"time"
)

// pruneBatch is how many notifications one statement of Prune deletes, so
// that no statement holds its locks for long.
const pruneBatch = 5000

// Prune deletes read notifications created more than readOlderThan ago and
// every notification created more than olderThan ago, and returns how many it deleted.
// Players' counters are kept, so seqs are never reused. Several workers may
// run it at once.
func (s *Store) Prune(ctx context.Context, readOlderThan, olderThan time.Duration) (int64, error) {
	if readOlderThan <= 0 || olderThan <= 0 {
		return 0, fmt.Errorf("%w: prune ages must be positive", ErrInvalid)
	}
	const del = `
DELETE FROM notifications WHERE (account_id, seq) IN (
    SELECT account_id, seq FROM notifications
    WHERE created_at < now() - least($1::bigint, $2::bigint) * interval '1 millisecond' -- the index's range
      AND (created_at < now() - $2 * interval '1 millisecond'
           OR (read_at IS NOT NULL AND created_at < now() - $1 * interval '1 millisecond'))
    LIMIT $3
)`
	var total int64
	for {
		res, err := s.conn.ExecContext(ctx, del, readOlderThan.Milliseconds(), olderThan.Milliseconds(), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune notifications: %w", err)
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
