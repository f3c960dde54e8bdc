package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	playerdata "github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// Player holds what the player data routes need: profile, loadouts,
// settings and stats of the logged-in player, and other players' public
// profiles.
type Player struct {
	Players  *playerdata.Store
	Verifier Verifier
	// Limiter and WriteLimit bound each player's writes of profile,
	// loadouts and settings together: WriteLimit.N per WriteLimit.Per. A
	// nil Limiter or an N of 0 turns the limit off.
	Limiter    state.Limiter
	WriteLimit auth.Rule
	Log        *slog.Logger
}

// MountPlayer adds the player data routes to app. Every route needs a
// player's access token.
func MountPlayer(app fiber.Router, p Player) {
	h := &playerHandlers{store: p.Players, log: p.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	auth := RequirePlayer(p.Verifier)
	write := writeLimit(p.Limiter, p.WriteLimit, p.Log, "player")

	v1 := app.Group("/v1")
	v1.Get("/me/profile", auth, h.getProfile)
	v1.Put("/me/profile", auth, write, h.putProfile)
	v1.Get("/me/loadouts", auth, h.listLoadouts)
	v1.Put("/me/loadouts/:id", auth, write, h.putLoadout)
	v1.Delete("/me/loadouts/:id", auth, write, h.deleteLoadout)
	v1.Get("/me/settings", auth, h.getSettings)
	v1.Put("/me/settings", auth, write, h.putSettings)
	v1.Get("/me/stats", auth, h.getStats)
	v1.Get("/players/:id/profile", auth, h.publicProfile)
}

type playerHandlers struct {
	store *playerdata.Store
	log   *slog.Logger
}

// codeStaleVersion is the code of a write made from an old version.
const codeStaleVersion = "stale_version"

// staleBody is the 409 answer to a stale write: the error shape with the
// document as it is now (null when the loadout was deleted), so the client
// can merge and write again from current.version.
type staleBody struct {
	Error   *web.Error `json:"error"`
	Current any        `json:"current"`
}

// failPlayer answers a domain error: a stale write with 409 and the
// current document, anything else through fail.
func failPlayer(c *fiber.Ctx, err error) error {
	var stale *playerdata.StaleError
	if !errors.As(err, &stale) {
		return fail(c, err)
	}
	var current any
	switch doc := stale.Current.(type) {
	case playerdata.Profile:
		current = newProfileView(doc, nil)
	case playerdata.Loadout:
		current = newLoadoutView(doc)
	case playerdata.Settings:
		current = newSettingsView(doc)
	}
	return c.Status(http.StatusConflict).JSON(staleBody{
		Error:   web.NewError(http.StatusConflict, codeStaleVersion, "the document was changed since this version: merge with current and send it again with current's version"),
		Current: current,
	})
}

// requireVersion checks a write's version: present and not negative.
func requireVersion(v *int, what string) (int, error) {
	if v == nil {
		return 0, web.BadRequest("version is required: the version of the " + what + " the change was made from (0 for a new one)")
	}
	if *v < 0 {
		return 0, web.BadRequest("version must be 0 or more")
	}
	return *v, nil
}
