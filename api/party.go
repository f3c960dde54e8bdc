package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// Parties holds what the party routes need. They mirror the realtime
// connection's party requests for clients without the socket; changes are
// pushed to members' sockets either way.
type Parties struct {
	Service    *party.Service
	Verifier   Verifier
	Limiter    state.Limiter
	WriteLimit auth.Rule // party writes per player; zero N turns the limit off
	Log        *slog.Logger
}

// MountParties adds the player's party routes. Every route needs a
// player's access token.
func MountParties(app fiber.Router, p Parties) {
	h := &partyHandlers{svc: p.Service}
	player := RequirePlayer(p.Verifier)
	write := writeLimit(p.Limiter, p.WriteLimit, p.Log, "party")
	v1 := app.Group("/v1/me/party")
	v1.Get("", player, h.get)
	v1.Post("", player, write, h.create)
	v1.Patch("", player, write, h.settings)
	v1.Post("/invites", player, write, h.invite)
	v1.Post("/join", player, write, h.join)
	v1.Post("/leave", player, write, h.leave)
	v1.Post("/kick", player, write, h.kick)
	v1.Post("/promote", player, write, h.promote)
	v1.Post("/ready-check", player, write, h.readyCheck)
	v1.Post("/ready", player, write, h.ready)
	v1.Post("/chat", player, write, h.chat)
}

type partyHandlers struct{ svc *party.Service }

// get answers the player's party, or {"party": null}.
func (h *partyHandlers) get(c *fiber.Ctx) error {
	v, err := h.svc.Get(c.UserContext(), claimsOf(c).AccountID)
	if errors.Is(err, party.ErrNoParty) {
		return c.JSON(fiber.Map{"party": nil})
	}
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"party": v})
}

type partySettingsRequest struct {
	MaxSize    int  `json:"max_size"`
	JoinByCode bool `json:"join_by_code"`
}

func (h *partyHandlers) create(c *fiber.Ctx) error {
	var in partySettingsRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.svc.Create(c.UserContext(), claimsOf(c).AccountID, in.MaxSize, in.JoinByCode)
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"party": v})
}

func (h *partyHandlers) settings(c *fiber.Ctx) error {
	var in partySettingsRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.svc.Settings(c.UserContext(), claimsOf(c).AccountID, in.MaxSize, in.JoinByCode)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"party": v})
}

type partyPlayerRequest struct {
	PlayerID string `json:"player_id"`
}

// playerCall decodes {"player_id"} and runs call with it, answering 204.
func (h *partyHandlers) playerCall(c *fiber.Ctx, call func(accountID int64, playerID string) error) error {
	var in partyPlayerRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.PlayerID == "" {
		return web.BadRequest("player_id is required")
	}
	if err := call(claimsOf(c).AccountID, in.PlayerID); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *partyHandlers) invite(c *fiber.Ctx) error {
	return h.playerCall(c, func(id int64, p string) error { return h.svc.Invite(c.UserContext(), id, p) })
}

func (h *partyHandlers) kick(c *fiber.Ctx) error {
	return h.playerCall(c, func(id int64, p string) error { return h.svc.Kick(c.UserContext(), id, p) })
}

func (h *partyHandlers) promote(c *fiber.Ctx) error {
	return h.playerCall(c, func(id int64, p string) error { return h.svc.Promote(c.UserContext(), id, p) })
}

type partyJoinRequest struct {
	PartyID    string `json:"party_id"`
	InviteCode string `json:"invite_code"`
}

func (h *partyHandlers) join(c *fiber.Ctx) error {
	var in partyJoinRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.svc.Join(c.UserContext(), claimsOf(c).AccountID, in.PartyID, in.InviteCode)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"party": v})
}

func (h *partyHandlers) leave(c *fiber.Ctx) error {
	if err := h.svc.Leave(c.UserContext(), claimsOf(c).AccountID); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *partyHandlers) readyCheck(c *fiber.Ctx) error {
	if err := h.svc.ReadyCheck(c.UserContext(), claimsOf(c).AccountID); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *partyHandlers) ready(c *fiber.Ctx) error {
	var in struct {
		Ready *bool `json:"ready"`
	}
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.Ready == nil {
		return web.BadRequest("ready is required")
	}
	if err := h.svc.Ready(c.UserContext(), claimsOf(c).AccountID, *in.Ready); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (h *partyHandlers) chat(c *fiber.Ctx) error {
	var in struct {
		Text string `json:"text"`
	}
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := h.svc.Chat(c.UserContext(), claimsOf(c).AccountID, in.Text); err != nil {
		var rl *party.RateLimitError
		if errors.As(err, &rl) {
			return fail(c, &auth.RateLimitError{RetryAfter: rl.RetryAfter})
		}
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}
