package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	playerdata "github.com/musterhq/muster/domain/player"
)

type seasonStatsView struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	playerdata.Stats
}

type statsView struct {
	Lifetime playerdata.Stats `json:"lifetime"`
	Season   *seasonStatsView `json:"season"`
}

// getStats answers the player's lifetime stats and those of the season
// ?season= names, or of the season running now.
func (h *playerHandlers) getStats(c *fiber.Ctx) error {
	v, err := h.store.Stats(c.UserContext(), claimsOf(c).AccountID, c.Query("season"))
	if err != nil {
		return fail(c, err)
	}
	out := statsView{Lifetime: v.Lifetime}
	if s := v.Season; s != nil {
		out.Season = &seasonStatsView{ID: s.Season.ID, Name: s.Season.Name, StartsAt: s.Season.StartsAt, EndsAt: s.Season.EndsAt, Stats: s.Stats}
	}
	return c.JSON(out)
}
