package match

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
)

// KindMode is the content kind of match modes.
const KindMode = "mode"

// Mode is a match mode as content: its shape, the bounds a sane result
// stays within, and how results turn into account XP.
type Mode struct {
	Name               string `json:"name"`
	Teams              int    `json:"teams"`     // number of teams; a free-for-all has one player per team
	TeamSize           int    `json:"team_size"` // players per team at most
	MaxDurationSeconds int64  `json:"max_duration_seconds"`
	// Bounds is the largest value of each stat one player may report in one
	// match; a result above a bound is quarantined, a stat not listed is
	// refused.
	Bounds        map[string]int64 `json:"bounds"`
	WeaponClasses []string         `json:"weapon_classes"`
	XP            XPRules          `json:"xp"`
}

// XPRules turn one player's result into account XP.
type XPRules struct {
	PerMinute int64   `json:"per_minute"` // per full minute played
	PerKill   int64   `json:"per_kill"`
	PerAssist int64   `json:"per_assist"`
	PerRevive int64   `json:"per_revive"`
	Win       int64   `json:"win"`
	Placement []int64 `json:"placement,omitempty"` // bonus by placement: [0] for 1st, [1] for 2nd, ...
	Max       int64   `json:"max"`                 // per match
}

// MaxPlayers is how many players the mode holds.
func (m Mode) MaxPlayers() int { return m.Teams * m.TeamSize }

// XPFor computes one player's account XP for a result.
func (m Mode) XPFor(p PlayerResult) int64 {
	r := m.XP
	xp := r.PerMinute*(p.Stats[StatSecondsPlayed]/60) + r.PerKill*p.Stats[StatKills] +
		r.PerAssist*p.Stats[StatAssists] + r.PerRevive*p.Stats[StatRevives]
	if p.Placement == 1 {
		xp += r.Win
	}
	if p.Placement >= 1 && p.Placement <= len(r.Placement) {
		xp += r.Placement[p.Placement-1]
	}
	return min(max(xp, 0), r.Max)
}

// MaxStat is the largest value any stat may have in a result, whatever its
// mode's bound: sums over a player's matches stay far from overflowing.
const MaxStat = 1_000_000_000

var knownStats = []string{StatKills, StatDeaths, StatAssists, StatDamage, StatHeadshots, StatRevives, StatScore, StatSecondsPlayed}

// Stats lists the stat names a mode may bound.
func Stats() []string { return slices.Clone(knownStats) }

// Validate checks a mode document.
func (m Mode) Validate() error {
	switch {
	case m.Name == "" || len(m.Name) > 64:
		return content.Invalid("name", "give a name of 1 to 64 characters")
	case m.Teams < 1 || m.Teams > 200:
		return content.Invalid("teams", "must be 1 to 200")
	case m.TeamSize < 1 || m.TeamSize > 50:
		return content.Invalid("team_size", "must be 1 to 50")
	case m.MaxPlayers() > 200:
		return content.Invalid("team_size", "teams × team size must be at most 200 players")
	case m.MaxDurationSeconds < 60 || m.MaxDurationSeconds > 6*3600:
		return content.Invalid("max_duration_seconds", "must be 60 to 21600")
	case len(m.Bounds) == 0:
		return content.Invalid("bounds", "bound at least one stat")
	case m.Bounds[StatSecondsPlayed] == 0:
		return content.Invalid("bounds", "bound seconds_played (the match length at most)")
	}
	names := make([]string, 0, len(m.Bounds))
	for k := range m.Bounds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(knownStats, k) {
			return content.Invalid("bounds."+k, "unknown stat; known: %v", knownStats)
		}
		if m.Bounds[k] < 1 || m.Bounds[k] > MaxStat {
			return content.Invalid("bounds."+k, "must be 1 to %d", MaxStat)
		}
	}
	for i, c := range m.WeaponClasses {
		if !content.ValidID(c) || slices.Contains(m.WeaponClasses[:i], c) {
			return content.Invalid(fmt.Sprintf("weapon_classes[%d]", i), "use a unique lower-case id")
		}
	}
	r := m.XP
	for _, v := range []int64{r.PerMinute, r.PerKill, r.PerAssist, r.PerRevive, r.Win} {
		if v < 0 || v > 1_000_000 {
			return content.Invalid("xp", "XP rules must be 0 to 1000000")
		}
	}
	if len(r.Placement) > m.Teams {
		return content.Invalid("xp.placement", "at most one bonus per team (%d)", m.Teams)
	}
	for i, v := range r.Placement {
		if v < 0 || v > 1_000_000 {
			return content.Invalid(fmt.Sprintf("xp.placement[%d]", i), "must be 0 to 1000000")
		}
	}
	if r.Max < 1 || r.Max > 10_000_000 {
		return content.Invalid("xp.max", "must be 1 to 10000000")
	}
	return nil
}

// ModeKind is the content kind of modes, for content.Store.Register.
func ModeKind() content.Kind {
	return content.Kind{Name: KindMode, Check: func(_ context.Context, _ sqlx.QueryerContext, _ string, body json.RawMessage) error {
		var m Mode
		if err := content.Decode(body, &m); err != nil {
			return err
		}
		return m.Validate()
	}}
}

// LoadMode reads the published mode id.
func LoadMode(ctx context.Context, q sqlx.QueryerContext, id string) (Mode, error) {
	var m Mode
	if _, err := content.Published(ctx, q, KindMode, id, &m); err != nil {
		if err == content.ErrNotFound || err == content.ErrNotPublished {
			return Mode{}, fmt.Errorf("%w: %s", ErrUnknownMode, id)
		}
		return Mode{}, err
	}
	return m, nil
}
