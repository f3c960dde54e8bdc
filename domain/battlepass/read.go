package battlepass

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/season"
)

// SeasonInfo is the season a pass belongs to.
type SeasonInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

func infoOf(s season.Season) SeasonInfo {
	return SeasonInfo{ID: s.ID, Name: s.Name, StartsAt: s.StartsAt, EndsAt: s.EndsAt}
}

// State is a player's battle pass in one season.
type State struct {
	Season SeasonInfo `json:"season"`
	// Open says whether the premium track and tiers are on sale: while the
	// season runs.
	Open         bool        `json:"open"`
	XP           int64       `json:"xp"`
	Tier         int         `json:"tier"` // highest tier reached; 0 before the first
	LastTier     int         `json:"last_tier"`
	TierXP       int64       `json:"tier_xp"`      // XP earned toward the next tier
	NextTierXP   int64       `json:"next_tier_xp"` // XP the next tier needs; 0 at the last tier
	Premium      bool        `json:"premium"`
	PremiumAt    *time.Time  `json:"premium_at,omitempty"`
	PremiumPrice *Price      `json:"premium_price,omitempty"`   // absent: not sold
	SkipPrice    *Price      `json:"tier_skip_price,omitempty"` // per tier; absent: not sold
	PassVersion  int         `json:"pass_version"`              // the pass's content version
	Version      int         `json:"version"`                   // of the player's progress; 0 before any
	UpdatedAt    *time.Time  `json:"updated_at,omitempty"`
	Tiers        []TierState `json:"tiers"`
}

// TierState is one tier of a player's pass. A reward is claimed (granted)
// automatically when its tier is reached, the premium one when the premium
// track is unlocked too.
type TierState struct {
	Tier
	FreeClaimed    bool `json:"free_claimed"`
	PremiumClaimed bool `json:"premium_claimed"`
}

// progress is a player's row.
type progress struct {
	XP        int64      `db:"xp"`
	Tier      int        `db:"tier"`
	Premium   bool       `db:"premium"`
	PremiumAt *time.Time `db:"premium_at"`
	Version   int        `db:"version"`
	UpdatedAt *time.Time `db:"updated_at"`
}

const progressCols = `xp, tier, premium, premium_at, version, updated_at`

// readProgress reads a player's progress; a player with none has the zero
// progress.
func readProgress(ctx context.Context, q sqlx.QueryerContext, accountID int64, seasonID string) (progress, error) {
	var p progress
	err := sqlx.GetContext(ctx, q, &p, `SELECT `+progressCols+` FROM battlepass_progress WHERE account_id = $1 AND season_id = $2`, accountID, seasonID)
	if errors.Is(err, sql.ErrNoRows) {
		return progress{}, nil
	}
	if err != nil {
		return progress{}, fmt.Errorf("read battle pass progress: %w", err)
	}
	return p, nil
}

// State returns the player's pass in seasonID, or, when seasonID is empty,
// in the season running now (between seasons: the one that ended last).
// Errors: ErrNoSeason, ErrNoPass.
func (s *Store) State(ctx context.Context, accountID int64, seasonID string) (State, error) {
	sea, err := s.pick(ctx, seasonID)
	if err != nil {
		return State{}, err
	}
	pass, err := loadPass(ctx, s.conn, sea.ID)
	if err != nil {
		return State{}, err
	}
	p, err := readProgress(ctx, s.conn, accountID, sea.ID)
	if err != nil {
		return State{}, err
	}
	return s.stateOf(sea, pass, p), nil
}

// Track returns the pass of seasonID (empty: as State picks it), every tier
// with its XP and both tracks' rewards, for previewing.
func (s *Store) Track(ctx context.Context, seasonID string) (Pass, error) {
	sea, err := s.pick(ctx, seasonID)
	if err != nil {
		return Pass{}, err
	}
	return loadPass(ctx, s.conn, sea.ID)
}

// pick returns the season seasonID, or the one running now or ended last.
func (s *Store) pick(ctx context.Context, seasonID string) (season.Season, error) {
	if seasonID != "" {
		return getSeason(ctx, s.conn, seasonID)
	}
	all, err := season.All(ctx, s.conn)
	if err != nil {
		return season.Season{}, err
	}
	now := s.now()
	var last *season.Season
	for i, sea := range all {
		if sea.Contains(now) {
			return sea, nil
		}
		if !sea.EndsAt.After(now) {
			last = &all[i]
		}
	}
	if last == nil {
		return season.Season{}, ErrNoSeason
	}
	return *last, nil
}

func getSeason(ctx context.Context, q sqlx.QueryerContext, id string) (season.Season, error) {
	sea, err := season.Get(ctx, q, id)
	if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
		return season.Season{}, fmt.Errorf("%w: %s", ErrNoSeason, id)
	}
	return sea, err
}

func (s *Store) stateOf(sea season.Season, pass Pass, p progress) State {
	st := State{
		Season: infoOf(sea), Open: sea.Contains(s.now()),
		XP: p.XP, Tier: p.Tier, LastTier: pass.Last(), Premium: p.Premium, PremiumAt: p.PremiumAt,
		PremiumPrice: pass.PremiumPrice, SkipPrice: pass.SkipPrice, PassVersion: pass.Version,
		Version: p.Version, UpdatedAt: p.UpdatedAt, Tiers: make([]TierState, len(pass.Tiers)),
	}
	if t := min(p.Tier, pass.Last()); t < pass.Last() {
		st.TierXP = max(p.XP-pass.totalXP(t), 0)
		st.NextTierXP = pass.Tiers[t].XP
	}
	for i, t := range pass.Tiers {
		reached := t.Tier <= p.Tier
		st.Tiers[i] = TierState{Tier: t, FreeClaimed: reached, PremiumClaimed: reached && p.Premium}
	}
	return st
}
