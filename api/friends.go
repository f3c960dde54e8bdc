package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/friend"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// PresenceView is a friend's presence as the friend list shows it.
type PresenceView struct {
	Status string     `json:"status"`          // offline, online, in_party or in_match
	Text   string     `json:"text,omitempty"`  // the player's custom status text
	Since  *time.Time `json:"since,omitempty"` // when status last changed; absent while offline
}

// Friends holds what the friend routes need.
type Friends struct {
	Store    *friend.Store
	Verifier Verifier
	// Presence, when set, answers the presence of the players named
	// (those it leaves out are offline); the list shows each friend's.
	// Nil leaves presence out of the list.
	Presence func(ctx context.Context, accountIDs []int64) (map[int64]PresenceView, error)
	// Limiter and WriteLimit bound each player's friend writes together
	// (requests, answers, removals and blocks): WriteLimit.N per
	// WriteLimit.Per. A nil Limiter or an N of 0 turns the limit off.
	Limiter    state.Limiter
	WriteLimit auth.Rule
	Log        *slog.Logger
}

// MountFriends adds the friend list, requests, answers, removals and
// blocks. Every route needs a player's access token.
func MountFriends(app fiber.Router, f Friends) {
	h := &friendHandlers{store: f.Store, presence: f.Presence, log: f.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	player := RequirePlayer(f.Verifier)
	write := writeLimit(f.Limiter, f.WriteLimit, f.Log, "friends")
	v1 := app.Group("/v1")
	v1.Get("/me/friends", player, h.list)
	v1.Post("/me/friends/requests", player, write, h.request)
	v1.Post("/me/friends/:player_id/accept", player, write, h.accept)
	v1.Post("/me/friends/:player_id/decline", player, write, h.decline)
	v1.Delete("/me/friends/:player_id", player, write, h.remove)
	v1.Post("/me/blocks", player, write, h.block)
	v1.Delete("/me/blocks/:player_id", player, write, h.unblock)
}

type friendHandlers struct {
	store    *friend.Store
	presence func(ctx context.Context, accountIDs []int64) (map[int64]PresenceView, error)
	log      *slog.Logger
}

// friendView is one other player in the player's list.
type friendView struct {
	PlayerID    string        `json:"player_id"`
	DisplayName string        `json:"display_name"`
	State       friend.State  `json:"state"`
	Since       time.Time     `json:"since"`
	Presence    *PresenceView `json:"presence,omitempty"` // friends only, when presence is known
}

func newFriendView(r friend.Relation) friendView {
	return friendView{PlayerID: r.PlayerID, DisplayName: r.DisplayName, State: r.State, Since: r.Since}
}

type friendList struct {
	Friends  []friendView `json:"friends"`
	Incoming []friendView `json:"incoming"`
	Outgoing []friendView `json:"outgoing"`
	Blocked  []friendView `json:"blocked"`
}

func friendViews(rs []friend.Relation) []friendView {
	out := make([]friendView, len(rs))
	for i, r := range rs {
		out[i] = newFriendView(r)
	}
	return out
}

// list answers the player's friends (with presence when it is known),
// requests both ways and blocks.
func (h *friendHandlers) list(c *fiber.Ctx) error {
	ctx := c.UserContext()
	l, err := h.store.List(ctx, claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	out := friendList{Friends: friendViews(l.Friends), Incoming: friendViews(l.Incoming),
		Outgoing: friendViews(l.Outgoing), Blocked: friendViews(l.Blocked)}
	if h.presence != nil && len(l.Friends) > 0 {
		ids := make([]int64, len(l.Friends))
		for i, r := range l.Friends {
			ids[i] = r.AccountID
		}
		// Without presence the list is still worth answering.
		seen, err := h.presence(ctx, ids)
		if err != nil {
			h.log.WarnContext(ctx, "friend list without presence", "req_id", web.RequestID(c), "player_id", claimsOf(c).PlayerID, "err", err)
		} else {
			for i, r := range l.Friends {
				p, ok := seen[r.AccountID]
				if !ok {
					p = PresenceView{Status: "offline"}
				}
				out.Friends[i].Presence = &p
			}
		}
	}
	return c.JSON(out)
}

type playerRef struct {
	PlayerID string `json:"player_id"`
}

// request asks a player to be friends, or accepts their request if they
// had asked first.
func (h *friendHandlers) request(c *fiber.Ctx) error {
	var in playerRef
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("player_id", in.PlayerID); err != nil {
		return err
	}
	r, err := h.store.Request(c.UserContext(), claimsOf(c).AccountID, in.PlayerID)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(newFriendView(r))
}

func (h *friendHandlers) accept(c *fiber.Ctx) error {
	r, err := h.store.Accept(c.UserContext(), claimsOf(c).AccountID, c.Params("player_id"))
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(newFriendView(r))
}

func (h *friendHandlers) decline(c *fiber.Ctx) error {
	return h.done(c, h.store.Decline(c.UserContext(), claimsOf(c).AccountID, c.Params("player_id")))
}

func (h *friendHandlers) remove(c *fiber.Ctx) error {
	return h.done(c, h.store.Remove(c.UserContext(), claimsOf(c).AccountID, c.Params("player_id")))
}

func (h *friendHandlers) block(c *fiber.Ctx) error {
	var in playerRef
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("player_id", in.PlayerID); err != nil {
		return err
	}
	return h.done(c, h.store.Block(c.UserContext(), claimsOf(c).AccountID, in.PlayerID))
}

func (h *friendHandlers) unblock(c *fiber.Ctx) error {
	return h.done(c, h.store.Unblock(c.UserContext(), claimsOf(c).AccountID, c.Params("player_id")))
}

// done answers a change with nothing to show: 204, or its error.
func (h *friendHandlers) done(c *fiber.Ctx, err error) error {
	if err != nil {
		return fail(c, err)
	}
	return c.SendStatus(http.StatusNoContent)
}
