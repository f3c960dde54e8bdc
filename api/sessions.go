package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/fleet"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/web"
)

// Sessions holds what the sessions routes need.
type Sessions struct {
	Registry *fleet.Registry
	Sessions *fleet.Sessions
	Servers  *match.Servers
	Verifier Verifier
}

// MountSessions adds the routes of the sessions service: game servers
// register their processes, heartbeat, read the matches allocated to them
// and report players joining and leaving and the end of a match (with the
// game server credential; results still go to /v1/server/matches/{id}/result),
// and a player asks for their live match to get back in.
func MountSessions(app fiber.Router, s Sessions) {
	h := &sessionHandlers{registry: s.Registry, sessions: s.Sessions}
	server := requireServer(s.Servers)
	v1 := app.Group("/v1")
	v1.Post("/server/instances", server, h.register)
	v1.Post("/server/instances/:id/heartbeat", server, h.heartbeat)
	v1.Delete("/server/instances/:id", server, h.deregister)
	v1.Get("/server/allocations/:match_id", server, h.allocation)
	v1.Post("/server/allocations/:match_id/players", server, h.players)
	v1.Post("/server/allocations/:match_id/end", server, h.end)
	v1.Get("/me/match", RequirePlayer(s.Verifier), h.myMatch)
}

type sessionHandlers struct {
	registry *fleet.Registry
	sessions *fleet.Sessions
}

type instanceRequest struct {
	Fleet    string            `json:"fleet"`
	Region   string            `json:"region"`
	Address  string            `json:"address"`
	Capacity int               `json:"capacity"`
	Version  string            `json:"version"`
	Labels   map[string]string `json:"labels"`
}

// instanceView is an instance as its process sees it, with how often to
// heartbeat.
type instanceView struct {
	fleet.Instance
	HeartbeatEvery   float64 `json:"heartbeat_every_seconds"`
	HeartbeatTimeout float64 `json:"heartbeat_timeout_seconds"`
}

func (h *sessionHandlers) view(in fleet.Instance) instanceView {
	cfg := h.registry.Config()
	return instanceView{Instance: in, HeartbeatEvery: cfg.HeartbeatEvery.Seconds(), HeartbeatTimeout: cfg.HeartbeatTimeout.Seconds()}
}

// register records a game server process.
func (h *sessionHandlers) register(c *fiber.Ctx) error {
	var in instanceRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("fleet", in.Fleet, "region", in.Region, "address", in.Address); err != nil {
		return err
	}
	inst, err := h.registry.Register(c.UserContext(), serverOf(c), fleet.Registration{Fleet: in.Fleet, Region: in.Region,
		Address: in.Address, Capacity: in.Capacity, Version: in.Version, Labels: in.Labels})
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(h.view(inst))
}

func instanceID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fleet.ErrInstanceNotFound
	}
	return id, nil
}

type heartbeatView struct {
	instanceView
	Drain   bool             `json:"drain"`
	Matches []fleet.Assigned `json:"matches"`
}

// heartbeat keeps an instance live and answers whether to drain and which
// matches it hosts.
func (h *sessionHandlers) heartbeat(c *fiber.Ctx) error {
	id, err := instanceID(c)
	if err != nil {
		return fail(c, err)
	}
	b, err := h.registry.Heartbeat(c.UserContext(), serverOf(c), id)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(heartbeatView{instanceView: h.view(b.Instance), Drain: b.Drain, Matches: b.Matches})
}

// deregister marks an instance gone as its process shuts down.
func (h *sessionHandlers) deregister(c *fiber.Ctx) error {
	id, err := instanceID(c)
	if err != nil {
		return fail(c, err)
	}
	if err := h.registry.Deregister(c.UserContext(), serverOf(c), id); err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

// allocation answers a match allocated to the server, with its roster.
func (h *sessionHandlers) allocation(c *fiber.Ctx) error {
	ss, err := h.sessions.Get(c.UserContext(), serverOf(c), strings.Clone(c.Params("match_id")))
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(ss)
}

type playersRequest struct {
	Joined []string `json:"joined"`
	Left   []string `json:"left"`
}

// players records who connected to and disconnected from the match.
func (h *sessionHandlers) players(c *fiber.Ctx) error {
	var in playersRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if len(in.Joined)+len(in.Left) > 1000 {
		return web.BadRequest("at most 1000 players at once")
	}
	ss, err := h.sessions.Players(c.UserContext(), serverOf(c), strings.Clone(c.Params("match_id")), in.Joined, in.Left)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(ss)
}

type endRequest struct {
	Reason string `json:"reason"`
}

// end ends the match's allocation, freeing the server's slot. The body is
// optional.
func (h *sessionHandlers) end(c *fiber.Ctx) error {
	var in endRequest
	if len(c.Body()) > 0 {
		if err := web.Decode(c, &in); err != nil {
			return err
		}
	}
	reason := web.CleanText(in.Reason, 64)
	ss, err := h.sessions.End(c.UserContext(), serverOf(c), strings.Clone(c.Params("match_id")), reason)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(ss)
}

// myMatch answers the player's live match: where to connect to get back
// in after a disconnect.
func (h *sessionHandlers) myMatch(c *fiber.Ctx) error {
	m, err := h.sessions.ForPlayer(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(m)
}
