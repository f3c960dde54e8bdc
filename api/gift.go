package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/web"
)

// giftView is a gift with both players shown by public id.
type giftView struct {
	ID         int64            `json:"id"`
	From       partyView        `json:"from"`
	To         partyView        `json:"to"`
	Items      []inventory.Line `json:"items"`
	Message    string           `json:"message"`
	Status     string           `json:"status"`
	CreatedAt  time.Time        `json:"created_at"`
	ExpiresAt  time.Time        `json:"expires_at"`
	ResolvedAt *time.Time       `json:"resolved_at,omitempty"`
}

func giftOf(who *parties, g inventory.Gift) (giftView, error) {
	from, err := who.of(g.Sender)
	if err != nil {
		return giftView{}, err
	}
	to, err := who.of(g.Recipient)
	if err != nil {
		return giftView{}, err
	}
	return giftView{ID: g.ID, From: from, To: to, Items: lines(g.Items), Message: g.Message, Status: g.Status,
		CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt, ResolvedAt: g.ResolvedAt}, nil
}

func giftsOf(who *parties, list []inventory.Gift) ([]giftView, error) {
	out := make([]giftView, 0, len(list))
	for _, g := range list {
		v, err := giftOf(who, g)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// listGifts answers the player's pending incoming gifts and the gifts they
// sent recently, newest first.
func (h *economyHandlers) listGifts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	incoming, sent, err := h.inv.Gifts(ctx, claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	who := h.parties(ctx)
	in, err := giftsOf(who, incoming)
	if err != nil {
		return fail(c, err)
	}
	out, err := giftsOf(who, sent)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(fiber.Map{"incoming": in, "sent": out})
}

type giftRequest struct {
	To      string           `json:"to"`
	Items   []inventory.Line `json:"items"`
	Message string           `json:"message"`
}

// maxMessage bounds a gift message before the domain's own 280-byte rule,
// so cleaning it never cuts a long message down to an accepted one.
const maxMessage = 4096

// sendGift puts giftable items in escrow for another player.
func (h *economyHandlers) sendGift(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var in giftRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("to", in.To); err != nil {
		return err
	}
	ctx, sender := c.UserContext(), claimsOf(c).AccountID
	to, err := h.recipient(ctx, in.To)
	if err != nil {
		return fail(c, err)
	}
	g, err := h.inv.SendGift(ctx, sender, to, lines(in.Items), web.CleanText(in.Message, maxMessage), key)
	if err != nil {
		return fail(c, err)
	}
	v, err := giftOf(h.parties(ctx), g)
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(v)
}

func (h *economyHandlers) acceptGift(c *fiber.Ctx) error {
	return h.resolveGift(c, h.inv.AcceptGift)
}

func (h *economyHandlers) declineGift(c *fiber.Ctx) error {
	return h.resolveGift(c, h.inv.DeclineGift)
}

// resolveGift accepts or declines a gift sent to the player. Repeating the
// same answer is safe: it answers the gift again.
func (h *economyHandlers) resolveGift(c *fiber.Ctx, resolve func(ctx context.Context, recipient, giftID int64) (inventory.Gift, error)) error {
	id, err := pathID(c, inventory.ErrGiftNotFound)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	g, err := resolve(ctx, claimsOf(c).AccountID, id)
	if err != nil {
		return fail(c, err)
	}
	v, err := giftOf(h.parties(ctx), g)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(v)
}
