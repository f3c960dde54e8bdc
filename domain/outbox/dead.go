package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DeadDelivery is an event a consumer failed to apply MaxAttempts times.
type DeadDelivery struct {
	EventID   string    `db:"event_id"`
	Topic     string    `db:"topic"`
	Consumer  string    `db:"consumer"`
	Attempts  int       `db:"attempts"`
	LastError string    `db:"last_error"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Dead lists dead deliveries, newest first, at most limit of them.
func Dead(ctx context.Context, conn sqlx.QueryerContext, limit int) ([]DeadDelivery, error) {
	const q = `
SELECT d.event_id, e.topic, d.consumer, d.attempts, d.last_error, d.updated_at
FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
WHERE d.state = 'dead'
ORDER BY d.updated_at DESC
LIMIT $1`
	var out []DeadDelivery
	if err := sqlx.SelectContext(ctx, conn, &out, q, limit); err != nil {
		return nil, fmt.Errorf("list dead deliveries: %w", err)
	}
	return out, nil
}

// Retry puts a dead delivery back in the queue with a fresh attempt count,
// after its cause has been fixed. It reports whether there was such a
// delivery.
func Retry(ctx context.Context, conn sqlx.ExecerContext, eventID, consumer string) (bool, error) {
	const q = `
UPDATE outbox_deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
WHERE event_id = $1 AND consumer = $2 AND state = 'dead'`
	res, err := conn.ExecContext(ctx, q, eventID, consumer)
	if err != nil {
		return false, fmt.Errorf("retry dead delivery: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
