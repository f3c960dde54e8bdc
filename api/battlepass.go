package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/battlepass"
	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// BattlePass holds what the battle pass routes need.
type BattlePass struct {
	BattlePass *battlepass.Store
	Verifier   Verifier
	// Limiter and WriteLimit bound each player's premium upgrades and tier
	// skips together: WriteLimit.N per WriteLimit.Per. A nil Limiter or an
	// N of 0 turns the limit off.
	Limiter    state.Limiter
	WriteLimit auth.Rule
	Log        *slog.Logger
}

// MountBattlePass adds the battle pass routes to app; every route needs a
// player's access token.
func MountBattlePass(app fiber.Router, bp BattlePass) {
	h := &battlePassHandlers{bp: bp.BattlePass, log: bp.Log}
	write := writeLimit(bp.Limiter, bp.WriteLimit, bp.Log, "battlepass")
	if h.log == nil {
		h.log = slog.Default()
	}
	player := RequirePlayer(bp.Verifier)

	v1 := app.Group("/v1")
	v1.Get("/me/battlepass", player, h.get)
	v1.Post("/me/battlepass/premium", player, write, h.upgrade)
	v1.Post("/me/battlepass/skips", player, write, h.skip)
}

type battlePassHandlers struct {
	bp  *battlepass.Store
	log *slog.Logger
}

// seasonQuery reads ?season=: empty for the current season.
func seasonQuery(c *fiber.Ctx) (string, error) {
	s := strings.Clone(c.Query("season"))
	if s != "" && !content.ValidID(s) {
		return "", web.BadRequest("season must be a season id")
	}
	return s, nil
}

// get answers the player's battle pass: of the season running now (between
// seasons, the one that ended last), or of ?season=.
func (h *battlePassHandlers) get(c *fiber.Ctx) error {
	sea, err := seasonQuery(c)
	if err != nil {
		return err
	}
	st, err := h.bp.State(c.UserContext(), claimsOf(c).AccountID, sea)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(st)
}

// upgrade unlocks the premium track of the current season's pass (or
// ?season='s).
func (h *battlePassHandlers) upgrade(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	sea, err := seasonQuery(c)
	if err != nil {
		return err
	}
	r, err := h.bp.Upgrade(c.UserContext(), claimsOf(c).AccountID, sea, key)
	if err != nil {
		return fail(c, err)
	}
	return receipt(c, r)
}

type skipRequest struct {
	Tiers int `json:"tiers"`
}

// skip buys tiers of the current season's pass (or ?season='s).
func (h *battlePassHandlers) skip(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	sea, err := seasonQuery(c)
	if err != nil {
		return err
	}
	var in skipRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.Tiers < 1 || in.Tiers > battlepass.MaxTiers {
		return web.BadRequest("tiers must be a whole number from 1 to " + strconv.Itoa(battlepass.MaxTiers))
	}
	r, err := h.bp.SkipTiers(c.UserContext(), claimsOf(c).AccountID, sea, in.Tiers, key)
	if err != nil {
		return fail(c, err)
	}
	return receipt(c, r)
}

// receipt answers 201 with a new purchase, or 200 with the header
// Idempotent-Replayed when the request repeated an Idempotency-Key.
func receipt(c *fiber.Ctx, r battlepass.Receipt) error {
	if r.Replayed {
		c.Set("Idempotent-Replayed", "true")
		return c.JSON(r)
	}
	return c.Status(http.StatusCreated).JSON(r)
}
