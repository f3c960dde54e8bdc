package session

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Prune deletes what no longer serves a purpose, keeping it for retention
// after it stopped mattering: refresh tokens past their expiry (a reuse of
// one is refused as invalid either way) and sessions revoked or expired
// (their tokens go with them). Every refresh adds a token row, so without
// pruning the table grows with play. It returns the rows deleted.
func Prune(ctx context.Context, conn sqlx.ExecerContext, retention time.Duration) (int64, error) {
	ms := retention.Milliseconds()
	res, err := conn.ExecContext(ctx, `DELETE FROM auth_refresh_tokens WHERE expires_at < now() - $1 * interval '1 millisecond'`, ms)
	if err != nil {
		return 0, fmt.Errorf("prune refresh tokens: %w", err)
	}
	tokens, _ := res.RowsAffected()
	const q = `DELETE FROM auth_sessions
WHERE revoked_at < now() - $1 * interval '1 millisecond' OR expires_at < now() - $1 * interval '1 millisecond'`
	res, err = conn.ExecContext(ctx, q, ms)
	if err != nil {
		return tokens, fmt.Errorf("prune sessions: %w", err)
	}
	sessions, _ := res.RowsAffected()
	return tokens + sessions, nil
}
