package matchmaking

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/outbox"
)

// RequeueConsumer is the consumer of TopicAllocationFailed: the match's
// tickets wait again, keeping the time they started waiting, so they are
// first in line. A player who queued again meanwhile keeps the new ticket;
// the old one is cancelled.
func (s *Service) RequeueConsumer() outbox.Consumer {
	return outbox.Consumer{Name: "matchmaking.requeue", Topics: []string{TopicAllocationFailed},
		Handle: func(ctx context.Context, tx *sqlx.Tx, ev outbox.Event) error {
			var f AllocationFailed
			if err := ev.Decode(&f); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mm_matches SET state = 'failed' WHERE match_id = $1`, f.MatchID); err != nil {
				return err
			}
			var rows []ticketRow
			if err := tx.SelectContext(ctx, &rows, `SELECT `+ticketCols+` FROM mm_tickets WHERE match_id = $1 AND state = 'matched' FOR UPDATE`, f.MatchID); err != nil {
				return err
			}
			for _, r := range rows {
				var busy bool
				err := tx.GetContext(ctx, &busy, `SELECT true FROM mm_ticket_players p JOIN mm_ticket_players o
					ON o.account_id = p.account_id AND o.active WHERE p.ticket_id = $1 LIMIT 1`, r.ID)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if busy {
					if _, err := tx.ExecContext(ctx, `UPDATE mm_tickets SET state = 'cancelled', reason = 'requeued_elsewhere', updated_at = now() WHERE id = $1`, r.ID); err != nil {
						return err
					}
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE mm_tickets SET state = 'waiting', match_id = NULL, reason = NULL,
					seq = nextval(pg_get_serial_sequence('mm_tickets', 'seq')), updated_at = now() WHERE id = $1`, r.ID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE mm_ticket_players SET active = true WHERE ticket_id = $1`, r.ID); err != nil {
					return err
				}
			}
			return nil
		}}
}

// PoolOf answers the rating pool of a matchmade match, for the ratings
// consumer; ok is false for a match the matchmaker did not form.
func PoolOf(ctx context.Context, tx *sqlx.Tx, matchID, _ string) (string, bool, error) {
	var pool string
	err := tx.GetContext(ctx, &pool, `SELECT pool FROM mm_matches WHERE match_id = $1`, matchID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return pool, err == nil, err
}
