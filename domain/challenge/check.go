package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/reward"
)

// Bounds of the content.
const (
	MaxChallenges = 200           // per pool
	MaxCount      = 10            // challenges per player per period
	MaxRerolls    = 10            // per player per period
	MaxTarget     = 1_000_000_000 // of a goal
	MaxWeight     = 1_000_000
	maxRegions    = 64
)

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// ContentKinds returns the kinds this package owns, for content.Store.Register.
func (s *Store) ContentKinds() []content.Kind { return ContentKinds() }

// ContentKinds returns the kinds this package owns, for content.Store.Register:
// challenge pools and the rotation.
func ContentKinds() []content.Kind {
	return []content.Kind{
		{Name: KindPool, Check: func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error {
			var p Pool
			if err := content.Decode(body, &p); err != nil {
				return err
			}
			return checkPool(ctx, q, id, p)
		}},
		{Name: KindRotation, Check: func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error {
			var r Rotation
			if err := content.Decode(body, &r); err != nil {
				return err
			}
			return checkRotation(ctx, q, id, r)
		}},
	}
}

// Validate checks a pool on its own: what it says, not what it refers to.
func (p Pool) Validate() error {
	if len(p.Challenges) == 0 || len(p.Challenges) > MaxChallenges {
		return content.Invalid("challenges", "give 1 to %d challenges", MaxChallenges)
	}
	seen := map[string]bool{}
	for i, c := range p.Challenges {
		f := fmt.Sprintf("challenges[%d]", i)
		switch {
		case !content.ValidID(c.ID):
			return content.Invalid(f+".id", "use 1 to 64 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit")
		case seen[c.ID]:
			return content.Invalid(f+".id", "%s is listed twice", c.ID)
		case c.Name == "" || len(c.Name) > 64:
			return content.Invalid(f+".name", "give a name of 1 to 64 characters")
		case len(c.Description) > 280:
			return content.Invalid(f+".description", "at most 280 characters")
		case c.Weight < 1 || c.Weight > MaxWeight:
			return content.Invalid(f+".weight", "must be 1 to %d", MaxWeight)
		}
		seen[c.ID] = true
		if err := c.Goal.validate(f + ".goal"); err != nil {
			return err
		}
	}
	return nil
}

func (g Goal) validate(f string) error {
	if !slices.Contains(metrics, g.Metric) {
		return content.Invalid(f+".metric", "unknown metric %q; known: %v", g.Metric, metrics)
	}
	if g.Target < 1 || g.Target > MaxTarget {
		return content.Invalid(f+".target", "must be 1 to %d", MaxTarget)
	}
	if g.WeaponClass != "" && g.Metric != MetricKills {
		return content.Invalid(f+".weapon_class", "only a kills goal counts a weapon class")
	}
	if g.WeaponClass != "" && !content.ValidID(g.WeaponClass) {
		return content.Invalid(f+".weapon_class", "not a weapon class id")
	}
	switch {
	case g.Metric == MetricPlacement && (g.Placement < 1 || g.Placement > 200):
		return content.Invalid(f+".placement", "a placement goal needs the placement to reach, 1 to 200")
	case g.Metric != MetricPlacement && g.Placement != 0:
		return content.Invalid(f+".placement", "only a placement goal takes a placement")
	}
	for i, m := range g.Modes {
		if !content.ValidID(m) || slices.Contains(g.Modes[:i], m) {
			return content.Invalid(fmt.Sprintf("%s.modes[%d]", f, i), "use unique mode ids")
		}
	}
	return nil
}

// checkPool checks a pool against what it refers to: the catalog for its
// rewards, the published modes for its filters, and the published rotation
// for its size.
func checkPool(ctx context.Context, q sqlx.QueryerContext, id string, p Pool) error {
	if err := p.Validate(); err != nil {
		return err
	}
	modes, err := publishedModes(ctx, q)
	if err != nil {
		return err
	}
	for i, c := range p.Challenges {
		f := fmt.Sprintf("challenges[%d]", i)
		if err := reward.Check(ctx, q, f+".reward", c.Reward); err != nil {
			return err
		}
		if err := checkGoalRefs(f+".goal", c.Goal, modes); err != nil {
			return err
		}
	}
	var rot Rotation
	_, err = content.Published(ctx, q, KindRotation, RotationID, &rot)
	switch {
	case errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished):
		return nil
	case err != nil:
		return err
	}
	for _, c := range Cadences {
		sl := rot.Slate(c)
		if sl.Pool != id || sl.Count == 0 {
			continue
		}
		if len(p.Challenges) < sl.Count {
			return content.Invalid("challenges", "the rotation gives %d %s challenges from this pool; keep at least that many", sl.Count, c)
		}
		other := rot.Slate(otherCadence(c))
		if other.Count == 0 || other.Pool == "" {
			continue
		}
		var op Pool
		_, err := content.Published(ctx, q, KindPool, other.Pool, &op)
		switch {
		case errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished):
			continue // the rotation's other pool is gone; nothing to collide with
		case err != nil:
			return err
		}
		if i := shared(p, op); i >= 0 {
			return content.Invalid(fmt.Sprintf("challenges[%d].id", i), "%s is also a challenge of pool %s, which the rotation gives as %s challenges; use another id",
				p.Challenges[i].ID, other.Pool, otherCadence(c))
		}
	}
	return nil
}

func otherCadence(c Cadence) Cadence {
	if c == Daily {
		return Weekly
	}
	return Daily
}

// shared returns the index in p of a challenge id that other holds too,
// or -1. A player's daily and weekly sets must never hold the same id,
// which names the challenge in the API and in reward keys.
func shared(p, other Pool) int {
	ids := map[string]bool{}
	for _, c := range other.Challenges {
		ids[c.ID] = true
	}
	return slices.IndexFunc(p.Challenges, func(c Challenge) bool { return ids[c.ID] })
}

func publishedModes(ctx context.Context, q sqlx.QueryerContext) (map[string]match.Mode, error) {
	bodies, err := content.PublishedBodies(ctx, q, match.KindMode)
	if err != nil {
		return nil, fmt.Errorf("load modes: %w", err)
	}
	out := make(map[string]match.Mode, len(bodies))
	for id, b := range bodies {
		var m match.Mode
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("decode mode %s: %w", id, err)
		}
		out[id] = m
	}
	return out, nil
}

// checkGoalRefs checks a goal's modes exist and its weapon class is a
// class of one of them (of any mode when it names none), so that a typo
// does not make a challenge nobody can complete.
func checkGoalRefs(f string, g Goal, modes map[string]match.Mode) error {
	for i, m := range g.Modes {
		if _, ok := modes[m]; !ok {
			return content.Invalid(fmt.Sprintf("%s.modes[%d]", f, i), "no published mode %q", m)
		}
	}
	if g.WeaponClass == "" {
		return nil
	}
	scope := g.Modes
	if len(scope) == 0 {
		scope = sortedKeys(modes)
	}
	for _, m := range scope {
		if slices.Contains(modes[m].WeaponClasses, g.WeaponClass) {
			return nil
		}
	}
	return content.Invalid(f+".weapon_class", "no published mode of the goal has weapon class %q", g.WeaponClass)
}

// Validate checks a rotation on its own.
func (r Rotation) Validate() error {
	if len(r.Regions) == 0 || len(r.Regions) > maxRegions {
		return content.Invalid("regions", "give 1 to %d regions", maxRegions)
	}
	owner := map[string]string{}
	for _, id := range sortedKeys(r.Regions) {
		reg := r.Regions[id]
		f := "regions." + id
		if !content.ValidID(id) {
			return content.Invalid(f, "region ids use lower-case letters, digits, '_', '.' or '-'")
		}
		if reg.Timezone == "" || reg.Timezone == "Local" {
			return content.Invalid(f+".timezone", "give an IANA time zone such as America/New_York")
		}
		if _, err := time.LoadLocation(reg.Timezone); err != nil {
			return content.Invalid(f+".timezone", "unknown time zone %q", reg.Timezone)
		}
		if _, _, ok := parseClock(reg.ResetAt); !ok {
			return content.Invalid(f+".reset_at", "a local time of day HH:MM, 00:00 to 23:59")
		}
		for i, c := range reg.Countries {
			cf := fmt.Sprintf("%s.countries[%d]", f, i)
			if !countryPattern.MatchString(c) {
				return content.Invalid(cf, "an ISO 3166-1 alpha-2 code in capitals, such as US")
			}
			if prev, dup := owner[c]; dup {
				return content.Invalid(cf, "%s is also in region %s", c, prev)
			}
			owner[c] = id
		}
	}
	if _, ok := r.Regions[r.DefaultRegion]; !ok {
		return content.Invalid("default_region", "name one of the regions")
	}
	if _, ok := parseWeekday(r.WeeklyDay); !ok {
		return content.Invalid("weekly_day", "a weekday in lower case, such as monday")
	}
	for _, c := range Cadences {
		sl, f := r.Slate(c), string(c)
		switch {
		case sl.Count < 0 || sl.Count > MaxCount:
			return content.Invalid(f+".count", "must be 0 to %d", MaxCount)
		case sl.Rerolls < 0 || sl.Rerolls > MaxRerolls:
			return content.Invalid(f+".rerolls", "must be 0 to %d", MaxRerolls)
		case sl.Count > 0 && !content.ValidID(sl.Pool):
			return content.Invalid(f+".pool", "name the challenge_pool to draw from")
		}
	}
	if r.Daily.Count > 0 && r.Weekly.Count > 0 && r.Daily.Pool == r.Weekly.Pool {
		return content.Invalid("weekly.pool", "daily and weekly challenges come from different pools")
	}
	return nil
}

// checkRotation checks the rotation against the published pools it draws
// from.
func checkRotation(ctx context.Context, q sqlx.QueryerContext, id string, r Rotation) error {
	if id != RotationID {
		return content.Invalid("id", "the rotation is the one document %q", RotationID)
	}
	if err := r.Validate(); err != nil {
		return err
	}
	pools := map[Cadence]Pool{}
	for _, c := range Cadences {
		sl := r.Slate(c)
		if sl.Count == 0 {
			continue
		}
		var p Pool
		_, err := content.Published(ctx, q, KindPool, sl.Pool, &p)
		switch {
		case errors.Is(err, content.ErrNotFound) || errors.Is(err, content.ErrNotPublished):
			return content.Invalid(string(c)+".pool", "no published challenge_pool %q; publish it first", sl.Pool)
		case err != nil:
			return err
		case len(p.Challenges) < sl.Count:
			return content.Invalid(string(c)+".count", "pool %s has only %d challenges", sl.Pool, len(p.Challenges))
		}
		pools[c] = p
	}
	if d, ok := pools[Daily]; ok {
		if w, ok := pools[Weekly]; ok {
			if i := shared(w, d); i >= 0 {
				return content.Invalid("weekly.pool", "challenge %s is in both pool %s and pool %s; daily and weekly challenges need different ids",
					w.Challenges[i].ID, r.Daily.Pool, r.Weekly.Pool)
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
