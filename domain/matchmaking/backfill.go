package matchmaking

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Backfill is an open request to fill seats of a started match.
type Backfill struct {
	MatchID string
	Region  string
	Free    []int   // free seats per team
	Rating  float64 // the match's mean rating
}

// Seats counts the free seats.
func (b Backfill) Seats() int {
	n := 0
	for _, f := range b.Free {
		n += f
	}
	return n
}

// BackfillTTL bounds how long seats wait to be filled: a match is well
// under way after it.
const BackfillTTL = 5 * time.Minute

// RequestBackfill asks the matchmaker to fill free seats (per team) of a
// started match, in the caller's transaction (sessions call it when players
// leave). It does nothing for a match the matchmaker did not form or whose
// queue does not backfill; asking again replaces the request.
func (s *Service) RequestBackfill(ctx context.Context, tx sqlx.ExtContext, matchID string, free []int) error {
	var m struct {
		Queue  string `db:"queue"`
		Region string `db:"region"`
	}
	err := sqlx.GetContext(ctx, tx, &m, `SELECT queue, region FROM mm_matches WHERE match_id = $1`, matchID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	q, err := LoadQueue(ctx, tx, m.Queue)
	if errors.Is(err, ErrUnknownQueue) || err == nil && (!q.Backfill || len(free) != q.Teams) {
		return nil
	}
	if err != nil {
		return err
	}
	seats := 0
	arr := make(pq.Int64Array, len(free))
	for i, f := range free {
		arr[i] = int64(min(max(f, 0), q.TeamSize))
		seats += int(arr[i])
	}
	if seats == 0 {
		return s.CancelBackfill(ctx, tx, matchID)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO mm_backfill (match_id, queue, region, free, rating, expires_at)
		SELECT $1, $2, $3, $4, coalesce((SELECT avg(rating) FROM mm_tickets WHERE match_id = $1), 0), now() + $5 * interval '1 second'
		ON CONFLICT (match_id) DO UPDATE SET free = EXCLUDED.free, expires_at = EXCLUDED.expires_at`,
		matchID, m.Queue, m.Region, arr, BackfillTTL.Seconds())
	return err
}

// CancelBackfill drops a match's open request (the match ended).
func (s *Service) CancelBackfill(ctx context.Context, tx sqlx.ExtContext, matchID string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM mm_backfill WHERE match_id = $1`, matchID)
	return err
}

// FillBackfill places waiting tickets eligible for the request's region in
// its free seats, nearest the match's rating first within the queue's
// widest skill spread, each ticket whole on one team. It answers the new
// players per team (nil when nothing fits).
func (q *Queue) FillBackfill(b Backfill, tickets []*Ticket, now time.Time) [][]*Ticket {
	var pool []*Ticket
	for _, t := range tickets {
		if t.Size() > 0 && q.eligible(t, b.Region, now) && t.Rating >= b.Rating-q.Skill.Max && t.Rating <= b.Rating+q.Skill.Max {
			pool = append(pool, t)
		}
	}
	slices.SortFunc(pool, func(x, y *Ticket) int {
		return cmpFloat(abs(x.Rating-b.Rating), abs(y.Rating-b.Rating))
	})
	free := slices.Clone(b.Free)
	teams := make([][]*Ticket, len(free))
	placed := false
	for _, t := range pool {
		best := -1
		for i, f := range free {
			if f >= t.Size() && (best < 0 || f < free[best]) {
				best = i
			}
		}
		if best >= 0 {
			teams[best] = append(teams[best], t)
			free[best] -= t.Size()
			placed = true
		}
	}
	if !placed {
		return nil
	}
	return teams
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
