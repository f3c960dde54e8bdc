package battlepass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/reward"
	"github.com/musterhq/muster/domain/season"
)

// Doc is a battle pass as designers write it (content kind battle_pass,
// the document id being the season's id). tiers[0] is tier 1. Each tier
// needs XP to reach from the tier below: its own xp, else xp_per_tier. A
// price that is absent is not sold: without premium_price the premium track
// cannot be unlocked, without tier_skip_price tiers cannot be bought.
type Doc struct {
	XPPerTier     int64     `json:"xp_per_tier,omitempty"`
	Tiers         []DocTier `json:"tiers"`
	PremiumPrice  *Price    `json:"premium_price,omitempty"`
	TierSkipPrice *Price    `json:"tier_skip_price,omitempty"` // per tier
}

// DocTier is one tier of a Doc. Either reward may be empty.
type DocTier struct {
	XP      int64         `json:"xp,omitempty"`
	Free    reward.Reward `json:"free"`
	Premium reward.Reward `json:"premium"`
}

// ContentKind is the kind for content.Store.Register.
func (s *Store) ContentKind() content.Kind { return ContentKind() }

// ContentKind is the battle pass kind for content.Store.Register, for
// callers (the console, content tools) that have no Store.
func ContentKind() content.Kind {
	return content.Kind{Name: Kind, Check: func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error {
		var d Doc
		if err := content.Decode(body, &d); err != nil {
			return err
		}
		return d.Check(ctx, q, id)
	}}
}

// Check validates d as the pass of season id: the season published, 1 to
// MaxTiers tiers each needing 1 to MaxTierXP XP, rewards that
// reward.Check accepts, prices in known currencies within bounds. Field
// errors name the field, e.g. tiers[3].premium.items[0].
func (d Doc) Check(ctx context.Context, q sqlx.QueryerContext, id string) error {
	if _, err := season.Get(ctx, q, id); err != nil {
		if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
			return content.Invalid("id", "no published season %q: a battle pass is named after its season, publish the season first", id)
		}
		return fmt.Errorf("check season %s: %w", id, err)
	}
	if len(d.Tiers) == 0 || len(d.Tiers) > MaxTiers {
		return content.Invalid("tiers", "give 1 to %d tiers", MaxTiers)
	}
	if d.XPPerTier < 0 || d.XPPerTier > MaxTierXP {
		return content.Invalid("xp_per_tier", "must be 1 to %d, or absent when every tier gives its xp", MaxTierXP)
	}
	for i, t := range d.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		switch {
		case t.XP < 0 || t.XP > MaxTierXP:
			return content.Invalid(f+".xp", "must be 1 to %d", MaxTierXP)
		case t.XP == 0 && d.XPPerTier == 0:
			return content.Invalid(f+".xp", "required when xp_per_tier is absent")
		}
		if err := reward.Check(ctx, q, f+".free", t.Free); err != nil {
			return err
		}
		if err := reward.Check(ctx, q, f+".premium", t.Premium); err != nil {
			return err
		}
	}
	if err := checkPrice(ctx, q, "premium_price", d.PremiumPrice); err != nil {
		return err
	}
	return checkPrice(ctx, q, "tier_skip_price", d.TierSkipPrice)
}

func checkPrice(ctx context.Context, q sqlx.QueryerContext, field string, p *Price) error {
	if p == nil {
		return nil
	}
	if p.Amount <= 0 || p.Amount > MaxPrice {
		return content.Invalid(field+".amount", "must be 1 to %d", MaxPrice)
	}
	var retired bool
	err := sqlx.GetContext(ctx, q, &retired, `SELECT retired FROM currencies WHERE code = $1`, p.Currency)
	if err != nil || retired {
		return content.Invalid(field+".currency", "unknown or retired currency %q", p.Currency)
	}
	return nil
}

// Pass is a published battle pass ready to use.
type Pass struct {
	Season       string `json:"season"`
	Version      int    `json:"version"` // the content version
	Tiers        []Tier `json:"tiers"`
	PremiumPrice *Price `json:"premium_price,omitempty"`
	SkipPrice    *Price `json:"tier_skip_price,omitempty"`
}

// Tier is one tier of a Pass.
type Tier struct {
	Tier    int           `json:"tier"`     // 1-based
	XP      int64         `json:"xp"`       // to reach it from the tier below
	TotalXP int64         `json:"total_xp"` // to reach it from the start
	Free    reward.Reward `json:"free"`
	Premium reward.Reward `json:"premium"`
}

// loadPass reads the published pass of seasonID: ErrNoPass when there is
// none.
func loadPass(ctx context.Context, q sqlx.QueryerContext, seasonID string) (Pass, error) {
	var d Doc
	v, err := content.Published(ctx, q, Kind, seasonID, &d)
	if errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished) {
		return Pass{}, ErrNoPass
	}
	if err != nil {
		return Pass{}, fmt.Errorf("load battle pass %s: %w", seasonID, err)
	}
	p := Pass{Season: seasonID, Version: v, Tiers: make([]Tier, len(d.Tiers)), PremiumPrice: d.PremiumPrice, SkipPrice: d.TierSkipPrice}
	var total int64
	for i, t := range d.Tiers {
		xp := t.XP
		if xp == 0 {
			xp = d.XPPerTier
		}
		total += xp
		p.Tiers[i] = Tier{Tier: i + 1, XP: xp, TotalXP: total, Free: t.Free, Premium: t.Premium}
	}
	return p, nil
}

// Last is the number of the last tier.
func (p Pass) Last() int { return len(p.Tiers) }

// totalXP is the XP that reaches tier t from the start (0 for tier 0).
func (p Pass) totalXP(t int) int64 {
	if t <= 0 {
		return 0
	}
	return p.Tiers[min(t, p.Last())-1].TotalXP
}

// thresholds lists totalXP of every tier, for SQL to count the tiers an XP
// total reaches.
func (p Pass) thresholds() []int64 {
	out := make([]int64, len(p.Tiers))
	for i, t := range p.Tiers {
		out[i] = t.TotalXP
	}
	return out
}

// xpForTiers is the XP that takes a player at xp and tier n tiers up
// (capped at the last tier), keeping the progress they had toward their
// next tier, up to one short of the tier after the target so that no tier
// is gained beyond what was asked.
func (p Pass) xpForTiers(xp int64, tier, n int) int64 {
	tier = min(tier, p.Last())
	target := min(tier+n, p.Last())
	into := max(xp-p.totalXP(tier), 0)
	if target < p.Last() {
		into = min(into, p.Tiers[target].XP-1)
	}
	return max(p.totalXP(target)+into-xp, 0)
}

// track sums the rewards of tiers from to to (1-based, inclusive) on the
// free or premium track.
func (p Pass) track(premium bool, from, to int) reward.Reward {
	var r reward.Reward
	for t := max(from, 1); t <= min(to, p.Last()); t++ {
		if premium {
			r = r.Plus(p.Tiers[t-1].Premium)
		} else {
			r = r.Plus(p.Tiers[t-1].Free)
		}
	}
	return r
}

// payout pays the rewards of tiers from to to of one track. Every payment
// of a track covers tiers no other payment of that track covers (the
// progress row, locked, says which were paid), so the key, naming the
// tiers, is unique: "bp:<season>:<account>:<tier>:free" for one tier,
// "bp:<season>:<account>:<from>-<to>:premium" for several.
func (p Pass) payout(accountID int64, premium bool, from, to int) (reward.Payout, bool) {
	to = min(to, p.Last())
	if from < 1 || from > to {
		return reward.Payout{}, false
	}
	r := p.track(premium, from, to)
	if r.Empty() {
		return reward.Payout{}, false
	}
	name, span := "free", strconv.Itoa(from)
	if premium {
		name = "premium"
	}
	tiers := "tier " + span
	if to > from {
		span += "-" + strconv.Itoa(to)
		tiers = "tiers " + span
	}
	return reward.Payout{
		Key:       "bp:" + p.Season + ":" + strconv.FormatInt(accountID, 10) + ":" + span + ":" + name,
		AccountID: accountID, Reward: r,
		Memo: "battle pass " + p.Season + " " + tiers + " " + name,
	}, true
}
