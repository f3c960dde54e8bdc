package staff

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Prune deletes console sessions that ended (signed out, revoked or past
// their absolute timeout) more than retention ago, and returns how many.
func Prune(ctx context.Context, conn sqlx.ExecerContext, retention time.Duration) (int64, error) {
	const q = `DELETE FROM staff_sessions
WHERE revoked_at < now() - $1 * interval '1 millisecond' OR expires_at < now() - $1 * interval '1 millisecond'`
	res, err := conn.ExecContext(ctx, q, retention.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("prune staff sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
