package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
	"github.com/musterhq/muster/domain/match"
)

// Session is a match's allocation as its server sees it.
type Session struct {
	MatchID     string          `db:"match_id" json:"match_id"`
	Queue       string          `db:"queue" json:"queue"`
	Mode        string          `db:"mode" json:"mode"`
	Region      string          `db:"region" json:"region"`
	State       string          `db:"state" json:"state"` // allocated, ended or lost
	ServerID    int64           `db:"server_id" json:"-"`
	InstanceID  *int64          `db:"instance_id" json:"instance_id,omitempty"`
	GameServer  string          `db:"game_server" json:"game_server,omitempty"`
	Address     string          `db:"host" json:"address"`
	Port        int             `db:"port" json:"port"`
	AllocatedAt time.Time       `db:"allocated_at" json:"allocated_at"`
	EndedAt     *time.Time      `db:"ended_at" json:"ended_at,omitempty"`
	EndReason   string          `db:"end_reason" json:"end_reason,omitempty"`
	Players     []SessionPlayer `db:"-" json:"players"`
}

// SessionPlayer is one player of an allocated match.
type SessionPlayer struct {
	PlayerID  string     `db:"player_id" json:"player_id"`
	Team      int        `db:"team" json:"team"`
	Connected bool       `db:"connected" json:"connected"`
	JoinedAt  *time.Time `db:"joined_at" json:"joined_at,omitempty"`
	LeftAt    *time.Time `db:"left_at" json:"left_at,omitempty"`
}

const sessionCols = `match_id, queue, mode, region, state, server_id, instance_id, game_server, host, port, allocated_at, ended_at, end_reason`

// Get returns the allocation of matchID to server's credential, with its
// players. A match allocated to another credential is
// match.ErrNotYourMatch; one never allocated (or still waiting for a
// server) is ErrNotAllocated.
func (s *Sessions) Get(ctx context.Context, server match.Server, matchID string) (Session, error) {
	return s.session(ctx, s.conn, server, matchID, false)
}

func (s *Sessions) session(ctx context.Context, q sqlx.QueryerContext, server match.Server, matchID string, lock bool) (Session, error) {
	sel := `SELECT ` + sessionCols + ` FROM fleet_allocations WHERE match_id = $1 AND state IN ('allocated', 'ended', 'lost')`
	if lock {
		sel += ` FOR UPDATE`
	}
	var ss Session
	err := sqlx.GetContext(ctx, q, &ss, sel, matchID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Session{}, ErrNotAllocated
	case err != nil:
		return Session{}, fmt.Errorf("load allocation: %w", err)
	case ss.ServerID != server.ID:
		return Session{}, match.ErrNotYourMatch
	}
	const players = `SELECT player_id, team, connected, joined_at, left_at FROM fleet_match_players
		WHERE match_id = $1 ORDER BY team, player_id`
	ss.Players = []SessionPlayer{}
	if err := sqlx.SelectContext(ctx, q, &ss.Players, players, matchID); err != nil {
		return Session{}, fmt.Errorf("load match players: %w", err)
	}
	return ss, nil
}

// Players records players who connected to (joined) and disconnected from
// (left) the match on its server; a player in both lists joined and then
// left. A player outside the roster is match.ErrNotInMatch and nothing
// changes; a match that is over is ErrAllocationOver.
func (s *Sessions) Players(ctx context.Context, server match.Server, matchID string, joined, left []string) (Session, error) {
	var out Session
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		ss, err := s.session(ctx, tx, server, matchID, true)
		if err != nil {
			return err
		}
		if ss.State != AllocAllocated {
			return ErrAllocationOver
		}
		for _, id := range append(slices.Clone(joined), left...) {
			if !slices.ContainsFunc(ss.Players, func(p SessionPlayer) bool { return p.PlayerID == id }) {
				return fmt.Errorf("%w: %q", match.ErrNotInMatch, id)
			}
		}
		const join = `UPDATE fleet_match_players SET connected = true, joined_at = now()
			WHERE match_id = $1 AND player_id = ANY($2)`
		if _, err := tx.ExecContext(ctx, join, matchID, pq.StringArray(joined)); err != nil {
			return fmt.Errorf("record joined players: %w", err)
		}
		const leave = `UPDATE fleet_match_players SET connected = false, left_at = now()
			WHERE match_id = $1 AND player_id = ANY($2)`
		if _, err := tx.ExecContext(ctx, leave, matchID, pq.StringArray(left)); err != nil {
			return fmt.Errorf("record left players: %w", err)
		}
		if len(joined)+len(left) > 0 {
			if err := s.askBackfill(ctx, tx, matchID); err != nil {
				return err
			}
		}
		out, err = s.session(ctx, tx, server, matchID, false)
		return err
	})
	return out, err
}

// End ends the match's allocation, freeing its server's slot: the server
// calls it when the match process is over (after reporting its results,
// or without any when the match was abandoned). Ending a match that is
// over already answers it as it is.
func (s *Sessions) End(ctx context.Context, server match.Server, matchID, reason string) (Session, error) {
	if reason == "" {
		reason = "server_ended"
	}
	var out Session
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		ss, err := s.session(ctx, tx, server, matchID, true)
		if err != nil {
			return err
		}
		if ss.State == AllocAllocated {
			if _, err := endIn(ctx, tx, matchID, reason); err != nil {
				return err
			}
			if s.backfill != nil {
				if err := s.backfill.CancelBackfill(ctx, tx, matchID); err != nil {
					return fmt.Errorf("cancel backfill: %w", err)
				}
			}
		}
		out, err = s.session(ctx, tx, server, matchID, false)
		return err
	})
	return out, err
}

// PlayerMatch is a player's live match: where to connect to get back in.
type PlayerMatch struct {
	MatchID     string    `db:"match_id" json:"match_id"`
	Queue       string    `db:"queue" json:"queue"`
	Mode        string    `db:"mode" json:"mode"`
	Region      string    `db:"region" json:"region"`
	Address     string    `db:"host" json:"address"`
	Port        int       `db:"port" json:"port"`
	Team        int       `db:"team" json:"team"`
	Connected   bool      `db:"connected" json:"connected"` // the server says the player is in
	AllocatedAt time.Time `db:"allocated_at" json:"allocated_at"`
}

// ForPlayer returns accountID's live match (the newest, should there be
// several), or ErrNoLiveMatch.
func (s *Sessions) ForPlayer(ctx context.Context, accountID int64) (PlayerMatch, error) {
	const q = `SELECT a.match_id, a.queue, a.mode, a.region, a.host, a.port, p.team, p.connected, a.allocated_at
		FROM fleet_match_players p JOIN fleet_allocations a USING (match_id)
		WHERE p.account_id = $1 AND a.state = 'allocated'
		ORDER BY a.allocated_at DESC LIMIT 1`
	var m PlayerMatch
	err := s.conn.GetContext(ctx, &m, q, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return PlayerMatch{}, ErrNoLiveMatch
	}
	if err != nil {
		return PlayerMatch{}, fmt.Errorf("load player's match: %w", err)
	}
	return m, nil
}
