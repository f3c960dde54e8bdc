package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/matchmaking"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// Matchmaking holds what the queue routes need. They mirror the realtime
// connection's QueueJoin, QueueCancel and GetQueueStatus.
type Matchmaking struct {
	Service    *matchmaking.Service
	Verifier   Verifier
	Limiter    state.Limiter
	WriteLimit auth.Rule
	Log        *slog.Logger
}

// MountMatchmaking adds the player's matchmaking routes.
func MountMatchmaking(app fiber.Router, m Matchmaking) {
	h := &matchmakingHandlers{svc: m.Service}
	player := RequirePlayer(m.Verifier)
	write := writeLimit(m.Limiter, m.WriteLimit, m.Log, "matchmaking")
	v1 := app.Group("/v1/me/matchmaking")
	v1.Get("", player, h.status)
	v1.Post("", player, write, h.join)
	v1.Delete("", player, write, h.cancel)
}

type matchmakingHandlers struct{ svc *matchmaking.Service }

func (h *matchmakingHandlers) status(c *fiber.Ctx) error {
	st, err := h.svc.Status(c.UserContext(), claimsOf(c).AccountID)
	if errors.Is(err, matchmaking.ErrNotQueued) {
		return c.JSON(fiber.Map{"ticket": nil})
	}
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"ticket": st})
}

type queueJoinRequest struct {
	Queue     string         `json:"queue"`
	LatencyMs map[string]int `json:"latency_ms"`
}

func (h *matchmakingHandlers) join(c *fiber.Ctx) error {
	var in queueJoinRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.Queue == "" {
		return web.BadRequest("queue is required")
	}
	st, err := h.svc.Join(c.UserContext(), claimsOf(c).AccountID, in.Queue, in.LatencyMs)
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"ticket": st})
}

func (h *matchmakingHandlers) cancel(c *fiber.Ctx) error {
	st, err := h.svc.Cancel(c.UserContext(), claimsOf(c).AccountID, "cancelled")
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"ticket": st})
}
