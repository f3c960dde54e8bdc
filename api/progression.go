package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/web"
)

// Progression holds what the progression routes need.
type Progression struct {
	Progression *progression.Store
	Verifier    Verifier
	Log         *slog.Logger
}

// MountProgression adds the player's progression routes: level, XP and
// prestige, and unlock trees. Every route needs a player's access token.
func MountProgression(app fiber.Router, p Progression) {
	h := &progressionHandlers{prog: p.Progression}
	me := app.Group("/v1/me", RequirePlayer(p.Verifier))
	me.Get("/progression", h.state)
	me.Get("/progression/history", h.history)
	me.Post("/progression/prestige", h.prestige)
	me.Get("/unlocks", h.trees)
	me.Post("/unlocks", h.unlock)
}

type progressionHandlers struct {
	prog *progression.Store
}

func (h *progressionHandlers) state(c *fiber.Ctx) error {
	st, err := h.prog.State(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(st)
}

func (h *progressionHandlers) history(c *fiber.Ctx) error {
	limit, err := queryInt(c, "limit", 50, 200)
	if err != nil {
		return err
	}
	evs, err := h.prog.History(c.UserContext(), claimsOf(c).AccountID, int(limit))
	if err != nil {
		return fail(c, err)
	}
	if evs == nil {
		evs = []progression.Event{}
	}
	return c.JSON(fiber.Map{"events": evs})
}

// prestige resets the player's level for the next prestige rank.
func (h *progressionHandlers) prestige(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	st, err := h.prog.Prestige(c.UserContext(), claimsOf(c).AccountID, key)
	if err != nil {
		return fail(c, err)
	}
	if st.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(st)
}

func (h *progressionHandlers) trees(c *fiber.Ctx) error {
	trees, err := h.prog.Trees(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	if trees == nil {
		trees = []progression.TreeState{}
	}
	return c.JSON(fiber.Map{"trees": trees})
}

type unlockRequest struct {
	Tree string `json:"tree"`
	Node string `json:"node"`
}

// unlock unlocks a node of an unlock tree, paying its cost.
func (h *progressionHandlers) unlock(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var in unlockRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("tree", in.Tree, "node", in.Node); err != nil {
		return err
	}
	u, err := h.prog.Unlock(c.UserContext(), claimsOf(c).AccountID, in.Tree, in.Node, key)
	if err != nil {
		return fail(c, err)
	}
	if u.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(u)
}
