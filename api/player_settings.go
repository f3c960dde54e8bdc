package api

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/web"
)

type settingsView struct {
	Settings  json.RawMessage `json:"settings"`
	Version   int             `json:"version"`
	UpdatedAt *time.Time      `json:"updated_at"`
}

func newSettingsView(s playerdata.Settings) settingsView {
	return settingsView{Settings: s.Body, Version: s.Version, UpdatedAt: s.UpdatedAt}
}

func (h *playerHandlers) getSettings(c *fiber.Ctx) error {
	s, err := h.store.Settings(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(newSettingsView(s))
}

type settingsRequest struct {
	Version  *int            `json:"version"`
	Settings json.RawMessage `json:"settings"`
}

func (h *playerHandlers) putSettings(c *fiber.Ctx) error {
	var in settingsRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	version, err := requireVersion(in.Version, "settings")
	if err != nil {
		return err
	}
	if len(in.Settings) == 0 {
		return web.BadRequest("settings is required: a JSON object")
	}
	s, err := h.store.SaveSettings(c.UserContext(), claimsOf(c).AccountID, version, in.Settings)
	if err != nil {
		return failPlayer(c, err)
	}
	return c.JSON(newSettingsView(s))
}
