// Package season keeps the game's seasons as content (kind "season"): a
// name, a start and an end, never overlapping. Per-season stats, the battle
// pass and ratings hang off the season a match started in.
package season

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
)

// Kind is the content kind of seasons.
const Kind = "season"

// Season is a published season.
type Season struct {
	ID       string    `json:"-"`
	Name     string    `json:"name"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// Contains reports whether t falls in the season: from its start, before
// its end.
func (s Season) Contains(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Validate checks a season on its own.
func (s Season) Validate() error {
	switch {
	case s.Name == "" || len(s.Name) > 64:
		return content.Invalid("name", "give a name of 1 to 64 characters")
	case s.StartsAt.IsZero():
		return content.Invalid("starts_at", "required")
	case !s.EndsAt.After(s.StartsAt):
		return content.Invalid("ends_at", "must be after starts_at")
	case s.EndsAt.Sub(s.StartsAt) > 366*24*time.Hour:
		return content.Invalid("ends_at", "a season lasts at most a year")
	}
	return nil
}

// ContentKind is the kind for content.Store.Register: a season may not
// overlap another published season.
func ContentKind() content.Kind {
	return content.Kind{Name: Kind, Check: func(ctx context.Context, q sqlx.QueryerContext, id string, body json.RawMessage) error {
		var s Season
		if err := content.Decode(body, &s); err != nil {
			return err
		}
		if err := s.Validate(); err != nil {
			return err
		}
		all, err := All(ctx, q)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.ID != id && s.StartsAt.Before(o.EndsAt) && o.StartsAt.Before(s.EndsAt) {
				return content.Invalid("starts_at", "overlaps season %s (%s to %s)", o.ID, o.StartsAt.Format(time.RFC3339), o.EndsAt.Format(time.RFC3339))
			}
		}
		return nil
	}}
}

// All returns every published season by start.
func All(ctx context.Context, q sqlx.QueryerContext) ([]Season, error) {
	bodies, err := content.PublishedBodies(ctx, q, Kind)
	if err != nil {
		return nil, err
	}
	out := make([]Season, 0, len(bodies))
	for id, b := range bodies {
		var s Season
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("decode season %s: %w", id, err)
		}
		s.ID = id
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out, nil
}

// At returns the season that contains t, and false when none does.
func At(ctx context.Context, q sqlx.QueryerContext, t time.Time) (Season, bool, error) {
	all, err := All(ctx, q)
	if err != nil {
		return Season{}, false, err
	}
	for _, s := range all {
		if s.Contains(t) {
			return s, true, nil
		}
	}
	return Season{}, false, nil
}

// Get returns the published season id.
func Get(ctx context.Context, q sqlx.QueryerContext, id string) (Season, error) {
	var s Season
	if _, err := content.Published(ctx, q, Kind, id, &s); err != nil {
		return Season{}, err
	}
	s.ID = id
	return s, nil
}
