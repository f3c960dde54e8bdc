package matchmaking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/match"
)

// KindQueue is the content kind of matchmaking queues.
const KindQueue = "queue"

// Fallbacks: what happens to a ticket that waited the queue's MaxWait.
const (
	// FallbackBots starts the match with the players there are (at least
	// MinPlayers); the dedicated server fills empty seats with bots.
	FallbackBots = "bots"
	// FallbackNone keeps the ticket waiting with its widest rules until
	// the player cancels.
	FallbackNone = "none"
)

// Queue is a matchmaking queue as live-ops content.
type Queue struct {
	Name     string   `json:"name"`
	Mode     string   `json:"mode"`      // the match mode servers run
	TeamSize int      `json:"team_size"` // e.g. 4 for quads
	Teams    int      `json:"teams"`     // e.g. 38 for a 152-player battle royale, 2 for 6v6
	Regions  []string `json:"regions"`
	PartyMin int      `json:"party_min"` // smallest party (1: solos allowed)
	PartyMax int      `json:"party_max"` // largest party, at most TeamSize
	Skill    Widening `json:"skill"`     // rating spread (ordinal points) allowed around the oldest ticket
	Latency  Widening `json:"latency"`   // milliseconds a region may be from a player
	// MaxWaitSeconds is when Fallback applies.
	MaxWaitSeconds int    `json:"max_wait_seconds"`
	Fallback       string `json:"fallback"`
	// MinPlayers is the fewest players a fallback match starts with.
	MinPlayers int `json:"min_players"`
	// Backfill lets the matchmaker fill seats that open in a started match.
	Backfill bool `json:"backfill"`
	// RatingPool names the ratings this queue reads and updates; the queue
	// id when empty. Queues sharing a pool share players' ratings.
	RatingPool string `json:"rating_pool,omitempty"`
}

// Widening is a limit that grows with a ticket's wait: Start, plus
// PerSecond for each second waited, up to Max.
type Widening struct {
	Start     float64 `json:"start"`
	PerSecond float64 `json:"per_second"`
	Max       float64 `json:"max"`
}

// At is the limit after waiting d.
func (w Widening) At(d time.Duration) float64 {
	return min(w.Max, w.Start+w.PerSecond*max(d.Seconds(), 0))
}

// Slots is how many players a full match holds.
func (q Queue) Slots() int { return q.TeamSize * q.Teams }

// MaxWait is the wait after which the fallback applies.
func (q Queue) MaxWait() time.Duration { return time.Duration(q.MaxWaitSeconds) * time.Second }

var regionPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Validate checks a queue document on its own.
func (q Queue) Validate() error {
	switch {
	case q.Mode == "":
		return content.Invalid("mode", "is required")
	case q.TeamSize < 1 || q.TeamSize > 100:
		return content.Invalid("team_size", "must be 1 to 100")
	case q.Teams < 1 || q.Teams > 200:
		return content.Invalid("teams", "must be 1 to 200")
	case q.Slots() > 1000:
		return content.Invalid("teams", "a match holds at most 1000 players")
	case len(q.Regions) == 0:
		return content.Invalid("regions", "name at least one region")
	case q.PartyMin < 1 || q.PartyMin > q.TeamSize:
		return content.Invalid("party_min", "must be 1 to team_size")
	case q.PartyMax < q.PartyMin || q.PartyMax > q.TeamSize:
		return content.Invalid("party_max", "must be party_min to team_size")
	case q.MaxWaitSeconds < 1 || q.MaxWaitSeconds > 3600:
		return content.Invalid("max_wait_seconds", "must be 1 to 3600")
	case q.Fallback != FallbackBots && q.Fallback != FallbackNone:
		return content.Invalid("fallback", `must be "bots" or "none"`)
	case q.MinPlayers < 0 || q.MinPlayers > q.Slots():
		return content.Invalid("min_players", "must be 0 to the match's players")
	}
	seen := map[string]bool{}
	for i, r := range q.Regions {
		if !regionPattern.MatchString(r) || seen[r] {
			return content.Invalid(fmt.Sprintf("regions[%d]", i), "a region is a unique lower-case name like eu-west")
		}
		seen[r] = true
	}
	for name, w := range map[string]Widening{"skill": q.Skill, "latency": q.Latency} {
		if w.Start < 0 || w.PerSecond < 0 || w.Max < w.Start {
			return content.Invalid(name, "start and per_second must be 0 or more, max at least start")
		}
	}
	return nil
}

// pool is the rating pool of the queue id.
func (q Queue) pool(id string) string {
	if q.RatingPool != "" {
		return q.RatingPool
	}
	return id
}

// QueueKind is the content kind of queues, for content.Store.Register.
// Publishing checks that the mode exists and holds the queue's matches.
func QueueKind() content.Kind {
	return content.Kind{Name: KindQueue, Check: func(ctx context.Context, db sqlx.QueryerContext, _ string, body json.RawMessage) error {
		var q Queue
		if err := content.Decode(body, &q); err != nil {
			return err
		}
		if err := q.Validate(); err != nil {
			return err
		}
		mode, err := match.LoadMode(ctx, db, q.Mode)
		if errors.Is(err, match.ErrUnknownMode) {
			return content.Invalid("mode", "no published mode has this id")
		}
		if err != nil {
			return err
		}
		if q.TeamSize > mode.TeamSize || q.Teams > mode.Teams {
			return content.Invalid("teams", "mode %s holds %d teams of %d", q.Mode, mode.Teams, mode.TeamSize)
		}
		return nil
	}}
}

// ErrUnknownQueue is a queue that is not published.
var ErrUnknownQueue = errors.New("no such matchmaking queue")

// LoadQueue reads the published queue id.
func LoadQueue(ctx context.Context, q sqlx.QueryerContext, id string) (Queue, error) {
	var out Queue
	if _, err := content.Published(ctx, q, KindQueue, id, &out); err != nil {
		if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
			return Queue{}, ErrUnknownQueue
		}
		return Queue{}, err
	}
	return out, nil
}
