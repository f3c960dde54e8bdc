package api

import (
	"github.com/gofiber/fiber/v2"

	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/web"
)

// publicProfileView is what any player sees of another.
type publicProfileView struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"display_name"`
	Level       int               `json:"level"`
	Prestige    int               `json:"prestige"`
	Cosmetics   map[string]string `json:"cosmetics"`
}

// profileView is the player's own profile: the public one with its
// version and, on reads, the slots it may fill.
type profileView struct {
	publicProfileView
	Version int               `json:"version"`
	Slots   []playerdata.Slot `json:"slots,omitempty"`
}

func newPublicProfileView(p playerdata.Profile) publicProfileView {
	return publicProfileView{ID: p.PlayerID, DisplayName: p.DisplayName, Level: p.Level, Prestige: p.Prestige, Cosmetics: p.Cosmetics}
}

func newProfileView(p playerdata.Profile, slots []playerdata.Slot) profileView {
	return profileView{publicProfileView: newPublicProfileView(p), Version: p.Version, Slots: slots}
}

func (h *playerHandlers) getProfile(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := h.store.Profile(ctx, claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	rules, err := h.store.ProfileRules(ctx)
	if err != nil {
		return err
	}
	return c.JSON(newProfileView(p, rules.Slots))
}

type profileRequest struct {
	Version   *int              `json:"version"`
	Cosmetics map[string]string `json:"cosmetics"`
}

func (h *playerHandlers) putProfile(c *fiber.Ctx) error {
	var in profileRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	version, err := requireVersion(in.Version, "profile")
	if err != nil {
		return err
	}
	p, err := h.store.SaveProfile(c.UserContext(), claimsOf(c).AccountID, playerdata.ProfileUpdate{Version: version, Cosmetics: in.Cosmetics})
	if err != nil {
		return failPlayer(c, err)
	}
	return c.JSON(newProfileView(p, nil))
}

func (h *playerHandlers) publicProfile(c *fiber.Ctx) error {
	p, err := h.store.PublicProfile(c.UserContext(), c.Params("id"))
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(newPublicProfileView(p))
}
