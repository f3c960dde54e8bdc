// Package battlepass runs each season's battle pass: tiers of XP with a
// free and a premium track of rewards, the pass itself being content (kind
// battle_pass, the document id is the season's id). Players earn battle
// pass XP from accepted matches (the outbox consumer "battlepass" on
// match.accepted), may unlock the premium track and buy tiers with virtual
// currency, and support may grant tiers or XP.
//
// Rewards are granted as tiers are reached, never claimed by hand: the free
// reward of every tier reached, and the premium reward too once the premium
// track is unlocked (retroactively for the tiers reached before). Nothing
// is left to claim when the season ends.
//
// Season rule: a match counts toward the season that contained its start,
// when its results are accepted no later than Config.Grace after that
// season's end; a match that started between seasons, in a season without a
// published pass, or whose results came later counts for no pass. Premium
// and tier skips are sold only while the season runs; support adjustments
// are taken until the end of the grace period. See docs/battlepass.md.
package battlepass

import (
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/domain/reward"
)

// Kind is the content kind of battle passes; a pass's id is its season's.
const Kind = "battle_pass"

// ConsumerName is the outbox consumer that applies match XP, and the name
// under which it claims matches (match.Claim).
const ConsumerName = "battlepass"

// TopicTierReached is the outbox topic of a player reaching a tier; the
// payload is a TierReached. One event per player per match, skip or
// adjustment: the highest tier reached.
const TopicTierReached = "progression.tier_reached"

// TierReached is the payload of TopicTierReached.
type TierReached struct {
	AccountID int64  `json:"account_id"`
	Season    string `json:"season"`
	Tier      int    `json:"tier"`
}

// Bounds of a pass.
const (
	MaxTiers    = 200           // tiers in one pass
	MaxTierXP   = 10_000_000    // XP one tier may need
	MaxPrice    = 1_000_000_000 // premium price and tier price
	MaxAdjustXP = 100_000_000   // XP one support adjustment may give
)

// DefaultGrace is how long after a season's end the results of a match
// that started in it still count, when Config.Grace is 0.
const DefaultGrace = 24 * time.Hour

// Errors of this package.
var (
	ErrNoSeason         = errors.New("season not found")
	ErrNoPass           = errors.New("this season has no battle pass")
	ErrSeasonNotStarted = errors.New("the season has not started yet")
	ErrSeasonOver       = errors.New("the season is over")
	ErrAlreadyPremium   = errors.New("the premium track is already unlocked")
	ErrNotForSale       = errors.New("this battle pass does not sell that")
	ErrMaxTier          = errors.New("the last tier is already reached")
	ErrKeyReused        = errors.New("idempotency key was already used for a different operation")
	ErrInvalid          = errors.New("invalid battle pass operation")
)

// Price is an amount of a virtual currency.
type Price struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// Config holds the battle pass's policies.
type Config struct {
	// Grace is how long after a season's end the results of a match that
	// started in it still count toward its pass (measured at the time the
	// results were accepted, so an outbox backlog costs no XP). 0 means
	// DefaultGrace; negative means none.
	Grace time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Store keeps players' battle pass progress and pays its rewards.
type Store struct {
	conn  *sqlx.DB
	payer *reward.Payer
	led   *ledger.Ledger
	cfg   Config
}

// New returns a Store that pays rewards through payer and charges prices
// through led.
func New(conn *sqlx.DB, payer *reward.Payer, led *ledger.Ledger, cfg Config) *Store {
	switch {
	case cfg.Grace == 0:
		cfg.Grace = DefaultGrace
	case cfg.Grace < 0:
		cfg.Grace = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{conn: conn, payer: payer, led: led, cfg: cfg}
}

func (s *Store) now() time.Time { return s.cfg.Now() }
