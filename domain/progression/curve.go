package progression

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/reward"
)

// KindCurve is the content kind of the XP curve; the game reads the
// document CurveID.
const (
	KindCurve = "xp_curve"
	CurveID   = "default"
)

// Curve is the account XP curve as content: how much XP each level takes,
// what each level and each prestige rank gives, and the prestige cap.
type Curve struct {
	// XPPerLevel[i] is the XP from level i+1 to level i+2; the maximum
	// level is len(XPPerLevel)+1.
	XPPerLevel []int64       `json:"xp_per_level"`
	Rewards    []LevelReward `json:"rewards,omitempty"`
	Prestige   PrestigeRules `json:"prestige"`
	total      []int64       // total[i]: XP to reach level i+1
	byLevel    map[int]reward.Reward
}

// LevelReward is what reaching a level gives.
type LevelReward struct {
	Level  int           `json:"level"`
	Reward reward.Reward `json:"reward"`
}

// PrestigeRules cap prestige and say what each rank gives. A player at the
// maximum level may prestige: back to level 1 with no XP, one rank up.
type PrestigeRules struct {
	MaxRank int          `json:"max_rank"` // 0: no prestige
	Rewards []RankReward `json:"rewards,omitempty"`
}

// RankReward is what reaching a prestige rank gives.
type RankReward struct {
	Rank   int           `json:"rank"`
	Reward reward.Reward `json:"reward"`
}

// DefaultCurve is the curve until a designer publishes one: 100 levels of
// 1,000 XP, no rewards, no prestige.
func DefaultCurve() Curve {
	c := Curve{XPPerLevel: make([]int64, 99)}
	for i := range c.XPPerLevel {
		c.XPPerLevel[i] = 1000
	}
	return c.prepared()
}

func (c Curve) prepared() Curve {
	c.total = make([]int64, len(c.XPPerLevel)+1)
	for i, xp := range c.XPPerLevel {
		c.total[i+1] = c.total[i] + xp
	}
	c.byLevel = make(map[int]reward.Reward, len(c.Rewards))
	for _, r := range c.Rewards {
		c.byLevel[r.Level] = r.Reward
	}
	return c
}

// MaxLevel is the highest level.
func (c Curve) MaxLevel() int { return len(c.XPPerLevel) + 1 }

// Cap is the XP that reaches the maximum level; XP beyond it is not kept
// (it still counts in total XP).
func (c Curve) Cap() int64 { return c.total[len(c.total)-1] }

// LevelFor returns the level xp reaches.
func (c Curve) LevelFor(xp int64) int {
	lo, hi := 0, len(c.total)-1 // the highest i with total[i] <= xp
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if c.total[mid] <= xp {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1
}

// LevelStart is the XP at which level starts.
func (c Curve) LevelStart(level int) int64 { return c.total[min(max(level, 1), c.MaxLevel())-1] }

// LevelReward is what reaching level gives (empty for none).
func (c Curve) LevelReward(level int) reward.Reward { return c.byLevel[level] }

// RankReward is what reaching prestige rank gives.
func (c Curve) RankReward(rank int) reward.Reward {
	for _, r := range c.Prestige.Rewards {
		if r.Rank == rank {
			return r.Reward
		}
	}
	return reward.Reward{}
}

// check validates a curve, its rewards included.
func (c Curve) check(ctx context.Context, q sqlx.QueryerContext) error {
	switch {
	case len(c.XPPerLevel) < 1 || len(c.XPPerLevel) > 999:
		return content.Invalid("xp_per_level", "give 1 to 999 levels' XP (the maximum level is one more)")
	case c.Prestige.MaxRank < 0 || c.Prestige.MaxRank > 100:
		return content.Invalid("prestige.max_rank", "must be 0 to 100")
	}
	var total int64
	for i, xp := range c.XPPerLevel {
		if xp < 1 || xp > 100_000_000 {
			return content.Invalid(fmt.Sprintf("xp_per_level[%d]", i), "must be 1 to 100000000")
		}
		total += xp
	}
	seen := map[int]bool{}
	for i, r := range c.Rewards {
		f := fmt.Sprintf("rewards[%d]", i)
		if r.Level < 2 || r.Level > c.MaxLevel() || seen[r.Level] {
			return content.Invalid(f+".level", "must be a level from 2 to %d, once", c.MaxLevel())
		}
		seen[r.Level] = true
		if err := reward.Check(ctx, q, f+".reward", r.Reward); err != nil {
			return err
		}
	}
	seenRank := map[int]bool{}
	for i, r := range c.Prestige.Rewards {
		f := fmt.Sprintf("prestige.rewards[%d]", i)
		if r.Rank < 1 || r.Rank > c.Prestige.MaxRank || seenRank[r.Rank] {
			return content.Invalid(f+".rank", "must be a rank from 1 to %d, once", c.Prestige.MaxRank)
		}
		seenRank[r.Rank] = true
		if err := reward.Check(ctx, q, f+".reward", r.Reward); err != nil {
			return err
		}
	}
	return nil
}

// CurveKind is the content kind of XP curves.
func CurveKind() content.Kind {
	return content.Kind{Name: KindCurve, Check: func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error {
		if id != CurveID {
			return content.Invalid("id", "the XP curve is the document %q", CurveID)
		}
		var c Curve
		if err := content.Decode(body, &c); err != nil {
			return err
		}
		return c.check(ctx, q)
	}}
}

// LoadCurve reads the published curve, or DefaultCurve when none is.
func LoadCurve(ctx context.Context, q sqlx.QueryerContext) (Curve, error) {
	var c Curve
	_, err := content.Published(ctx, q, KindCurve, CurveID, &c)
	switch {
	case errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished):
		return DefaultCurve(), nil
	case err != nil:
		return Curve{}, err
	}
	return c.prepared(), nil
}
