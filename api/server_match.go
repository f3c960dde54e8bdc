package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/web"
)

// Matches holds what the game server routes need.
type Matches struct {
	Matches *match.Store
	Servers *match.Servers
}

// MountMatches adds the routes dedicated game servers call with their own
// credential (never a player's token): open a match with its roster, report
// its results once.
func MountMatches(app fiber.Router, m Matches) {
	h := &matchHandlers{matches: m.Matches}
	sv := app.Group("/v1/server", requireServer(m.Servers))
	sv.Post("/matches", h.open)
	sv.Post("/matches/:id/result", h.report)
}

const localServer = "muster.server"

// codeServerCredential is answered to a request without a valid server
// credential.
const codeServerCredential = "invalid_server_credential"

// requireServer lets a request through with a valid game server credential
// in "Authorization: Bearer msv_...".
func requireServer(servers *match.Servers) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok {
			return web.NewError(http.StatusUnauthorized, codeServerCredential, "send the game server's credential as Authorization: Bearer msv_...")
		}
		sv, err := servers.Authenticate(c.UserContext(), strings.TrimSpace(token))
		if err != nil {
			return fail(c, err)
		}
		c.Locals(localServer, sv)
		return c.Next()
	}
}

func serverOf(c *fiber.Ctx) match.Server {
	sv, _ := c.Locals(localServer).(match.Server)
	return sv
}

type matchHandlers struct {
	matches *match.Store
}

type openMatchRequest struct {
	MatchID string   `json:"match_id"`
	Mode    string   `json:"mode"`
	Players []string `json:"players"` // public player ids
}

type matchView struct {
	ID        string    `json:"match_id"`
	Mode      string    `json:"mode"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	Players   int       `json:"players"`
}

// open records a match the server hosts, with its roster. Opening the same
// match again with the same values answers it unchanged.
func (h *matchHandlers) open(c *fiber.Ctx) error {
	var in openMatchRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("match_id", in.MatchID, "mode", in.Mode); err != nil {
		return err
	}
	m, err := h.matches.Open(c.UserContext(), serverOf(c), in.MatchID, in.Mode, in.Players)
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(matchView{ID: m.ID, Mode: m.Mode, Status: m.Status, StartedAt: m.StartedAt, Players: len(m.Roster)})
}

type playerResultRequest struct {
	PlayerID     string           `json:"player_id"`
	Team         int              `json:"team"`
	Placement    int              `json:"placement"`
	Stats        map[string]int64 `json:"stats"`
	KillsByClass map[string]int64 `json:"kills_by_class"`
}

type resultRequest struct {
	EndedAt *time.Time            `json:"ended_at"`
	Players []playerResultRequest `json:"players"`
}

// report takes the match's results, once.
func (h *matchHandlers) report(c *fiber.Ctx) error {
	var in resultRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	res := match.Result{EndedAt: in.EndedAt, Players: make([]match.PlayerResult, len(in.Players))}
	for i, p := range in.Players {
		if err := require("players[].player_id", p.PlayerID); err != nil {
			return err
		}
		res.Players[i] = match.PlayerResult{PlayerID: p.PlayerID, Team: p.Team, Placement: p.Placement, Stats: p.Stats, KillsByClass: p.KillsByClass}
	}
	rc, err := h.matches.Report(c.UserContext(), serverOf(c), strings.Clone(c.Params("id")), res)
	if err != nil {
		return fail(c, err)
	}
	if rc.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	status := http.StatusOK
	if rc.Status == match.StatusQuarantined {
		status = http.StatusAccepted
	}
	return c.Status(status).JSON(rc)
}
