package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/web"
)

type loadoutView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Slots     map[string]string `json:"slots"`
	Version   int               `json:"version"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func newLoadoutView(l playerdata.Loadout) loadoutView {
	return loadoutView{ID: l.ID, Name: l.Name, Slots: l.Slots, Version: l.Version, UpdatedAt: l.UpdatedAt}
}

type loadoutsView struct {
	MaxLoadouts int               `json:"max_loadouts"`
	Slots       []playerdata.Slot `json:"slots"`
	Loadouts    []loadoutView     `json:"loadouts"`
}

func (h *playerHandlers) listLoadouts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, err := h.store.Loadouts(ctx, claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	rules, err := h.store.LoadoutRules(ctx)
	if err != nil {
		return err
	}
	out := loadoutsView{MaxLoadouts: rules.MaxLoadouts, Slots: rules.Slots, Loadouts: make([]loadoutView, len(list))}
	for i, l := range list {
		out.Loadouts[i] = newLoadoutView(l)
	}
	return c.JSON(out)
}

type loadoutRequest struct {
	Version *int              `json:"version"`
	Name    string            `json:"name"`
	Slots   map[string]string `json:"slots"`
}

// loadoutID reads the :id path parameter; fiber reuses its bytes.
func loadoutID(c *fiber.Ctx) string { return strings.Clone(c.Params("id")) }

func (h *playerHandlers) putLoadout(c *fiber.Ctx) error {
	var in loadoutRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	version, err := requireVersion(in.Version, "loadout")
	if err != nil {
		return err
	}
	if err := require("name", in.Name); err != nil {
		return err
	}
	l, err := h.store.SaveLoadout(c.UserContext(), claimsOf(c).AccountID, loadoutID(c),
		playerdata.LoadoutUpdate{Version: version, Name: web.CleanText(in.Name, 256), Slots: in.Slots})
	if err != nil {
		return failPlayer(c, err)
	}
	return c.JSON(newLoadoutView(l))
}

func (h *playerHandlers) deleteLoadout(c *fiber.Ctx) error {
	version := 0
	if s := c.Query("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return web.BadRequest("version must be a whole number from 1")
		}
		version = v
	}
	if err := h.store.DeleteLoadout(c.UserContext(), claimsOf(c).AccountID, loadoutID(c), version); err != nil {
		return failPlayer(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}
