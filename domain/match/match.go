// Package match takes match results from dedicated game servers, the only
// source of results the backend trusts. A server opens a match with its
// roster and reports its results once; results are validated against the
// match's mode (content kind "mode"), XP is computed here from the mode's
// rules, and accepted results go through the outbox (TopicAccepted) to
// progression, the battle pass, stats and challenges, each of which applies
// a match once (Claim). Results outside the mode's bounds are quarantined
// for staff to release or discard.
package match

import (
	"context"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// TopicAccepted is the outbox topic of accepted results; the payload is an
// Accepted.
const TopicAccepted = "match.accepted"

// Errors of this package.
var (
	ErrUnknownMode     = errors.New("unknown match mode")
	ErrMatchExists     = errors.New("a match with this id was already opened")
	ErrMatchNotFound   = errors.New("match not found")
	ErrNotYourMatch    = errors.New("the match was opened by another server")
	ErrAlreadyReported = errors.New("the match's results were already reported, with different values")
	ErrNotInMatch      = errors.New("a player named in the results was not in the match")
	ErrInvalidResult   = errors.New("invalid match result")
	ErrInvalidRoster   = errors.New("invalid roster")
	ErrNotQuarantined  = errors.New("the match's results are not in quarantine")
	ErrInvalidServer   = errors.New("invalid game server credential")
)

// Stat names a server may report for a player. A mode sets a bound for each
// it accepts; a stat a mode does not bound is refused.
const (
	StatKills         = "kills"
	StatDeaths        = "deaths"
	StatAssists       = "assists"
	StatDamage        = "damage"
	StatHeadshots     = "headshots"
	StatRevives       = "revives"
	StatScore         = "score"
	StatSecondsPlayed = "seconds_played"
)

// PlayerResult is one player's result as the server reports it.
type PlayerResult struct {
	// PlayerID is the player's public id, as servers and clients know it;
	// the backend fills AccountID from it.
	PlayerID  string           `json:"player_id,omitempty"`
	AccountID int64            `json:"account_id"`
	Team      int              `json:"team"`      // 1..mode's team count
	Placement int              `json:"placement"` // 1 is best; teammates share their team's placement
	Stats     map[string]int64 `json:"stats"`
	// KillsByClass splits kills by weapon class (the mode's classes); its
	// sum may not exceed kills.
	KillsByClass map[string]int64 `json:"kills_by_class,omitempty"`
}

// Result is a match's results as the server reports them.
type Result struct {
	EndedAt *time.Time     `json:"ended_at,omitempty"` // when the match ended; the report's arrival when absent
	Players []PlayerResult `json:"players"`
}

// AcceptedPlayer is one player's accepted result with what the backend
// computed from it.
type AcceptedPlayer struct {
	PlayerResult
	Won bool  `json:"won"` // placement 1
	XP  int64 `json:"xp"`  // account XP earned, from the mode's rules
}

// Accepted is the payload of TopicAccepted. StartedAt is when the server
// opened the match: the battle pass counts the match toward the season that
// was running then.
type Accepted struct {
	MatchID   string           `json:"match_id"`
	Mode      string           `json:"mode"`
	StartedAt time.Time        `json:"started_at"`
	EndedAt   time.Time        `json:"ended_at"`
	Players   []AcceptedPlayer `json:"players"`
}

// Claim records that consumer applies matchID in tx, and reports false when
// it was applied before (the caller then changes nothing). A consumer calls
// it first in its handler, so a match is applied once per consumer even if
// its event were delivered again.
func Claim(ctx context.Context, tx *sqlx.Tx, consumer, matchID string) (bool, error) {
	const q = `INSERT INTO match_applications (consumer, match_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	res, err := tx.ExecContext(ctx, q, consumer, matchID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
