package matchmaking

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/outbox"
)

// backfill fills the open seats of started matches first: their players
// are already playing.
func (m *Matchmaker) backfill(ctx context.Context, h *held, now time.Time) error {
	var reqs []struct {
		MatchID string        `db:"match_id"`
		Region  string        `db:"region"`
		Free    pq.Int64Array `db:"free"`
		Rating  float64       `db:"rating"`
	}
	if err := m.db.SelectContext(ctx, &reqs, `SELECT match_id, region, free, rating FROM mm_backfill
		WHERE queue = $1 AND expires_at > now() ORDER BY requested_at`, h.id); err != nil {
		return err
	}
	for _, r := range reqs {
		b := Backfill{MatchID: r.MatchID, Region: r.Region, Rating: r.Rating, Free: make([]int, len(r.Free))}
		for i, f := range r.Free {
			b.Free[i] = int(f)
		}
		teams := h.q.FillBackfill(b, slices.Collect(maps.Values(h.tickets)), now)
		if teams == nil {
			continue
		}
		if err := m.commitBackfill(ctx, h, b, teams, now); err != nil {
			return err
		}
	}
	return nil
}

// commitBackfill records new players for a started match: their tickets
// matched to it, its free seats taken, and TopicFormed with Backfill set,
// for sessions to send them to the match's server.
func (m *Matchmaker) commitBackfill(ctx context.Context, h *held, b Backfill, teams [][]*Ticket, now time.Time) error {
	f := Formed{MatchID: b.MatchID, Queue: h.id, Mode: h.q.Mode, Region: b.Region, Backfill: true, FormedAt: now.UTC(), Teams: make([]Team, len(teams))}
	var ids []string
	placed := make([]int64, len(teams))
	for i, team := range teams {
		for _, t := range team {
			ids = append(ids, t.ID)
			placed[i] += int64(t.Size())
			f.Teams[i].Players = append(f.Teams[i].Players, t.Players...)
		}
	}
	var gone []string
	err := db.InTx(ctx, m.db, nil, func(tx *sqlx.Tx) error {
		if err := m.holdLease(ctx, tx, h); err != nil {
			return err
		}
		var free pq.Int64Array
		err := tx.GetContext(ctx, &free, `SELECT free FROM mm_backfill WHERE match_id = $1 AND expires_at > now() FOR UPDATE`, b.MatchID)
		if errors.Is(err, sql.ErrNoRows) {
			return errVoid // the match ended meanwhile
		}
		if err != nil {
			return err
		}
		if len(free) != len(placed) {
			return errVoid
		}
		left, seats := make(pq.Int64Array, len(free)), int64(0)
		for i := range free {
			if free[i] < placed[i] {
				return errVoid // the request changed: try again next tick
			}
			left[i] = free[i] - placed[i]
			seats += left[i]
		}
		var matched []string
		if err := tx.SelectContext(ctx, &matched, `UPDATE mm_tickets SET state = 'matched', match_id = $2, updated_at = now()
			WHERE id = ANY($1) AND state = 'waiting' RETURNING id`, pq.StringArray(ids), b.MatchID); err != nil {
			return err
		}
		if len(matched) != len(ids) {
			gone = missing(ids, matched)
			return errVoid
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mm_ticket_players SET active = false WHERE ticket_id = ANY($1)`, pq.StringArray(ids)); err != nil {
			return err
		}
		if seats == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM mm_backfill WHERE match_id = $1`, b.MatchID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE mm_backfill SET free = $2 WHERE match_id = $1`, b.MatchID, left)
		}
		if err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, TopicFormed, f)
		return err
	})
	if errors.Is(err, errVoid) {
		for _, id := range gone {
			delete(h.tickets, id)
		}
		return nil
	}
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(h.tickets, id)
	}
	m.tellMatched(ctx, h.id, teams, b.MatchID)
	return nil
}

// holdLease locks the queue's lease row in tx, or fails with errLeaseLost
// when this replica no longer holds it.
func (m *Matchmaker) holdLease(ctx context.Context, tx *sqlx.Tx, h *held) error {
	var ok bool
	err := tx.GetContext(ctx, &ok, `SELECT true FROM mm_leases WHERE queue = $1 AND holder = $2 AND token = $3 AND expires_at > now() FOR UPDATE`,
		h.id, m.cfg.Holder, h.token)
	if errors.Is(err, sql.ErrNoRows) {
		return errLeaseLost
	}
	return err
}

// tellMatched pushes the matched status to the players of teams.
func (m *Matchmaker) tellMatched(ctx context.Context, queue string, teams [][]*Ticket, matchID string) {
	if m.svc == nil {
		return
	}
	for _, team := range teams {
		for _, t := range team {
			st := Status{TicketID: t.ID, Queue: queue, State: "matched", PartyID: t.PartyID, WaitingSince: t.Created, MatchID: matchID}
			var pids []int64
			for _, p := range t.Players {
				st.Players = append(st.Players, p.PlayerID)
				pids = append(pids, p.AccountID)
			}
			m.svc.tell(ctx, st, pids)
		}
	}
}
