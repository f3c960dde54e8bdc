package muster

import (
	"time"
)

// Challenges is the player's current challenges; a set is null when the game gives no challenges of its cadence.
type Challenges struct {
	Daily  *ChallengeSet `json:"daily"`
	Weekly *ChallengeSet `json:"weekly"`
}

// ChallengeSet is the player's challenges of one period.
type ChallengeSet struct {
	Period      string      `json:"period"`  // The period, its cadence and the local date it started on in the player's region.
	EndsAt      time.Time   `json:"ends_at"` // When the period ends and the next set is drawn.
	RerollsLeft int         `json:"rerolls_left"`
	Challenges  []Challenge `json:"challenges"`
}

// Challenge is one challenge with the player's progress.
type Challenge struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Metric      string     `json:"metric"` // What counts, from each match: `kills` (with `weapon_class`, only
	WeaponClass string     `json:"weapon_class,omitempty"`
	Placement   int        `json:"placement,omitempty"`
	Modes       []string   `json:"modes,omitempty"` // When present, only matches of these modes count.
	Target      int64      `json:"target"`
	Progress    int64      `json:"progress"` // Up to `target`.
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Reward      Reward     `json:"reward"`
}

type Reward struct {
	Items      []ItemLine `json:"items,omitempty"`
	Currencies []Price    `json:"currencies,omitempty"`
}

type Reroll struct {
	Replaced   string     `json:"replaced"` // The id of the challenge rerolled away.
	With       string     `json:"with"`     // The id of the challenge in its place.
	Challenges Challenges `json:"challenges"`
}

type Price struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

type BattlePassSeason struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

type BattlePassTier struct {
	Tier           int    `json:"tier"`
	XP             int64  `json:"xp"`       // XP to reach this tier from the one below.
	TotalXP        int64  `json:"total_xp"` // XP to reach this tier from the start.
	Free           Reward `json:"free"`
	Premium        Reward `json:"premium"`
	FreeClaimed    bool   `json:"free_claimed"`    // The free reward was granted (the tier is reached).
	PremiumClaimed bool   `json:"premium_claimed"` // The premium reward was granted (the tier is reached and the premium track unlocked).
}

// BattlePass is a player's battle pass in one season.
type BattlePass struct {
	Season        BattlePassSeason `json:"season"`
	Open          bool             `json:"open"` // The season runs, so the premium track and tiers are on sale.
	XP            int64            `json:"xp"`   // Battle pass XP earned this season.
	Tier          int              `json:"tier"` // The highest tier reached; 0 before the first.
	LastTier      int              `json:"last_tier"`
	TierXP        int64            `json:"tier_xp"`      // XP earned toward the next tier.
	NextTierXP    int64            `json:"next_tier_xp"` // XP the next tier takes; 0 at the last tier.
	Premium       bool             `json:"premium"`
	PremiumAt     *time.Time       `json:"premium_at,omitempty"`
	PremiumPrice  *Price           `json:"premium_price,omitempty"`   // Absent when the pass sells no premium track.
	TierSkipPrice *Price           `json:"tier_skip_price,omitempty"` // The price of one tier; absent when the pass sells no tiers.
	PassVersion   int              `json:"pass_version"`              // The version of the pass's content.
	Version       int              `json:"version"`                   // Goes up with every change to the player's progress; 0 before any.
	UpdatedAt     *time.Time       `json:"updated_at,omitempty"`
	Tiers         []BattlePassTier `json:"tiers"`
}

type BattlePassSkipRequest struct {
	Tiers int `json:"tiers"`
}

// BattlePassReceipt is a premium upgrade or tier purchase.
type BattlePassReceipt struct {
	ID         int64      `json:"id"`
	Operation  string     `json:"operation"`
	Season     string     `json:"season"`
	Tiers      int        `json:"tiers"`           // Tiers gained.
	XP         int64      `json:"xp"`              // XP added (a tier purchase moves the player to the tiers bought).
	Price      *Price     `json:"price,omitempty"` // What was charged.
	At         time.Time  `json:"at"`
	Replayed   bool       `json:"replayed"` // The request repeated an Idempotency-Key; nothing changed now.
	Battlepass BattlePass `json:"battlepass"`
}

type Progression struct {
	Level       int   `json:"level"`
	MaxLevel    int   `json:"max_level"`
	Prestige    int   `json:"prestige"`
	MaxPrestige int   `json:"max_prestige"`
	XP          int64 `json:"xp"`            // XP within the current prestige, capped at the maximum level's.
	TotalXP     int64 `json:"total_xp"`      // XP earned over every prestige.
	LevelXP     int64 `json:"level_xp"`      // XP into the current level.
	NextLevelXP int64 `json:"next_level_xp"` // XP the current level takes in all; 0 at the maximum level.
	CanPrestige bool  `json:"can_prestige"`
	Version     int   `json:"version"`
	Replayed    bool  `json:"replayed,omitempty"`
}

type ProgressionEvent struct {
	Kind     string    `json:"kind"`
	XP       int64     `json:"xp"`
	Level    int       `json:"level"` // The level after it.
	Prestige int       `json:"prestige"`
	Memo     string    `json:"memo"` // The match id, or the support reason.
	At       time.Time `json:"at"`
}

type UnlockTreeNode struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Requires    []string `json:"requires,omitempty"`
	MinLevel    int      `json:"min_level,omitempty"`
	MinPrestige int      `json:"min_prestige,omitempty"`
	Cost        *Price   `json:"cost,omitempty"`
	Reward      Reward   `json:"reward"`
	Unlocked    bool     `json:"unlocked"`
	Available   bool     `json:"available"`         // May be unlocked now, its cost aside.
	Blocker     string   `json:"blocker,omitempty"` // Why not, when neither unlocked nor available.
}

type UnlockTree struct {
	ID    string           `json:"id"`
	Name  string           `json:"name"`
	Kind  string           `json:"kind"`
	Nodes []UnlockTreeNode `json:"nodes"`
}

type Unlocked struct {
	Tree     string `json:"tree"`
	Node     string `json:"node"`
	Replayed bool   `json:"replayed"`
}
