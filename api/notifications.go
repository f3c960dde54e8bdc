package api

import (
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/web"
)

// Notifications holds what the notification routes need.
type Notifications struct {
	Store    *notify.Store
	Verifier Verifier
}

// MountNotifications adds the player's notification list and the route that
// marks notifications read. Every route needs a player's access token.
func MountNotifications(app fiber.Router, n Notifications) {
	h := &notificationHandlers{store: n.Store}
	player := RequirePlayer(n.Verifier)
	v1 := app.Group("/v1")
	v1.Get("/me/notifications", player, h.list)
	v1.Post("/me/notifications/read", player, h.read)
}

type notificationHandlers struct {
	store *notify.Store
}

// notificationList is the answer of the list; NextBefore is set when
// another page may follow.
type notificationList struct {
	Notifications []notify.Notification `json:"notifications"`
	UnreadCount   int                   `json:"unread_count"`
	NextBefore    *uint64               `json:"next_before,omitempty"`
}

// list answers the player's notifications, newest first.
func (h *notificationHandlers) list(c *fiber.Ctx) error {
	before, err := queryInt(c, "before", 0, math.MaxInt64)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, notify.MaxPage)
	if err != nil {
		return err
	}
	unread := false
	if s := c.Query("unread"); s != "" {
		if unread, err = strconv.ParseBool(s); err != nil {
			return web.BadRequest("unread must be true or false")
		}
	}
	ctx, account := c.UserContext(), claimsOf(c).AccountID
	ns, err := h.store.List(ctx, account, uint64(before), int(limit), unread)
	if err != nil {
		return fail(c, err)
	}
	count, err := h.store.UnreadCount(ctx, account)
	if err != nil {
		return fail(c, err)
	}
	out := notificationList{Notifications: ns, UnreadCount: count}
	if len(ns) == int(limit) && ns[len(ns)-1].Seq > 1 {
		next := ns[len(ns)-1].Seq
		out.NextBefore = &next
	}
	return c.JSON(out)
}

type markReadRequest struct {
	UpToSeq *uint64  `json:"up_to_seq"`
	IDs     []string `json:"ids"`
}

// read marks notifications read: every one up to a seq, or some by id.
func (h *notificationHandlers) read(c *fiber.Ctx) error {
	var in markReadRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	switch {
	case (in.UpToSeq == nil) == (in.IDs == nil):
		return web.BadRequest("send either up_to_seq or ids")
	case in.UpToSeq != nil && *in.UpToSeq == 0:
		return web.BadRequest("up_to_seq must be 1 or more")
	case in.IDs != nil && len(in.IDs) == 0:
		return web.BadRequest("ids must name at least one notification")
	}
	ctx, account := c.UserContext(), claimsOf(c).AccountID
	var marked int64
	var err error
	if in.UpToSeq != nil {
		marked, err = h.store.MarkRead(ctx, account, *in.UpToSeq)
	} else {
		marked, err = h.store.MarkReadIDs(ctx, account, in.IDs)
	}
	if err != nil {
		return fail(c, err)
	}
	count, err := h.store.UnreadCount(ctx, account)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"marked": marked, "unread_count": count})
}
