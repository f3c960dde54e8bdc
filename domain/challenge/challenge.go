// Package challenge gives players daily and weekly challenges: goals over
// their match results ("get 10 kills with an SMG", "win 2 matches") that pay
// a reward when met. Designers publish challenge pools (content kind
// "challenge_pool") and one rotation (kind "challenge_rotation", id
// "default") that says, per region, when the day turns over and how many
// challenges and rerolls a player gets.
//
// A player's set for a period is drawn deterministically from the pool
// (seeded by account, period and pool version; weighted, without
// duplicates) and stored the first time it is read or played. Accepted
// match results (outbox topic match.accepted) advance it once per match;
// completing a challenge pays its reward through the reward package and
// enqueues progression.challenge_completed.
package challenge

import (
	"errors"
	"slices"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/reward"
)

// Content kinds, and the id of the one rotation document.
const (
	KindPool     = "challenge_pool"
	KindRotation = "challenge_rotation"
	RotationID   = "default"
)

// TopicCompleted is the outbox topic of completed challenges; the payload
// is a Completed.
const TopicCompleted = "progression.challenge_completed"

// ConsumerName is the name the consumer of match results registers and
// claims matches under.
const ConsumerName = "challenges"

// Errors of this package, written for players.
var (
	ErrNotConfigured = errors.New("challenges are not configured")
	ErrNotFound      = errors.New("no such challenge among your current challenges")
	ErrCompleted     = errors.New("the challenge is already completed")
	ErrNoRerolls     = errors.New("no rerolls left this period")
	ErrNoReplacement = errors.New("no other challenge is available to replace it")
	ErrKeyReused     = errors.New("idempotency key already used for another reroll")
)

// Cadence is how often a set turns over.
type Cadence string

// Cadences.
const (
	Daily  Cadence = "daily"
	Weekly Cadence = "weekly"
)

// Cadences lists the cadences in the order sets are shown.
var Cadences = []Cadence{Daily, Weekly}

// Metrics a goal counts over a player's match results.
const (
	MetricKills     = "kills"     // kills, or kills with Goal.WeaponClass
	MetricWins      = "wins"      // matches won (placement 1)
	MetricPlacement = "placement" // matches placed Goal.Placement or better
	MetricMatches   = "matches"   // matches played
	MetricXP        = "xp"        // account XP earned
	MetricDamage    = "damage"
	MetricHeadshots = "headshots"
	MetricAssists   = "assists"
	MetricRevives   = "revives"
)

var metrics = []string{MetricKills, MetricWins, MetricPlacement, MetricMatches, MetricXP,
	MetricDamage, MetricHeadshots, MetricAssists, MetricRevives}

// Metrics lists the metrics a goal may count.
func Metrics() []string { return slices.Clone(metrics) }

// Pool is a challenge pool: the challenges a cadence draws from.
type Pool struct {
	Challenges []Challenge `json:"challenges"`
}

// Challenge is one challenge of a pool.
type Challenge struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Goal        Goal          `json:"goal"`
	Reward      reward.Reward `json:"reward"`
	// Weight is the challenge's relative chance of being drawn.
	Weight int `json:"weight"`
}

// Goal is what a challenge counts and how much of it completes the
// challenge.
type Goal struct {
	Metric string `json:"metric"`
	Target int64  `json:"target"`
	// WeaponClass, with MetricKills, counts only kills with weapons of
	// this class (a class of the match modes).
	WeaponClass string `json:"weapon_class,omitempty"`
	// Placement, with MetricPlacement, counts matches placed this or
	// better (1 is best).
	Placement int `json:"placement,omitempty"`
	// Modes, when given, counts only matches of these modes.
	Modes []string `json:"modes,omitempty"`
}

// Amount is how much one player's result in a match of mode counts toward
// the goal.
func (g Goal) Amount(mode string, p match.AcceptedPlayer) int64 {
	if len(g.Modes) > 0 && !slices.Contains(g.Modes, mode) {
		return 0
	}
	var n int64
	switch g.Metric {
	case MetricKills:
		if g.WeaponClass != "" {
			n = p.KillsByClass[g.WeaponClass]
		} else {
			n = p.Stats[match.StatKills]
		}
	case MetricWins:
		if p.Won {
			n = 1
		}
	case MetricPlacement:
		if p.Placement >= 1 && p.Placement <= g.Placement {
			n = 1
		}
	case MetricMatches:
		n = 1
	case MetricXP:
		n = p.XP
	case MetricDamage:
		n = p.Stats[match.StatDamage]
	case MetricHeadshots:
		n = p.Stats[match.StatHeadshots]
	case MetricAssists:
		n = p.Stats[match.StatAssists]
	case MetricRevives:
		n = p.Stats[match.StatRevives]
	}
	return max(n, 0)
}

// Rotation says when sets turn over and what they hold.
type Rotation struct {
	// Regions by id. A player's region is the one listing their store
	// country, else DefaultRegion.
	Regions       map[string]Region `json:"regions"`
	DefaultRegion string            `json:"default_region"`
	// WeeklyDay is the weekday weekly sets turn over on ("monday"), at the
	// region's ResetAt.
	WeeklyDay string `json:"weekly_day"`
	Daily     Slate  `json:"daily"`
	Weekly    Slate  `json:"weekly"`
}

// Region is where the day turns over at the same local time.
type Region struct {
	Timezone  string   `json:"timezone"`            // IANA name, e.g. "America/New_York"
	ResetAt   string   `json:"reset_at"`            // local time of day, "04:00"
	Countries []string `json:"countries,omitempty"` // ISO 3166-1 alpha-2, upper case
}

// Slate is what a player gets each period of a cadence.
type Slate struct {
	Pool    string `json:"pool"`    // a challenge_pool id
	Count   int    `json:"count"`   // challenges per player; 0 turns the cadence off
	Rerolls int    `json:"rerolls"` // rerolls per player per period
}

// Slate returns the slate of cadence c.
func (r Rotation) Slate(c Cadence) Slate {
	if c == Weekly {
		return r.Weekly
	}
	return r.Daily
}

// Completed is the payload of TopicCompleted.
type Completed struct {
	AccountID int64  `json:"account_id"`
	Challenge string `json:"challenge"`
	Period    string `json:"period"`
}
