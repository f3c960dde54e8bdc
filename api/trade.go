package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/web"
)

// tradeView is a trade with both players shown by public id.
type tradeView struct {
	ID           int64            `json:"id"`
	Proposer     partyView        `json:"proposer"`
	Counterparty partyView        `json:"counterparty"`
	Offered      []inventory.Line `json:"offered"`
	Requested    []inventory.Line `json:"requested"`
	Status       string           `json:"status"`
	CreatedAt    time.Time        `json:"created_at"`
	ExpiresAt    time.Time        `json:"expires_at"`
	ResolvedAt   *time.Time       `json:"resolved_at,omitempty"`
}

func tradeOf(who *parties, t inventory.Trade) (tradeView, error) {
	proposer, err := who.of(t.Proposer)
	if err != nil {
		return tradeView{}, err
	}
	counterparty, err := who.of(t.Counterparty)
	if err != nil {
		return tradeView{}, err
	}
	return tradeView{ID: t.ID, Proposer: proposer, Counterparty: counterparty, Offered: lines(t.Offered),
		Requested: lines(t.Requested), Status: t.Status, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, ResolvedAt: t.ResolvedAt}, nil
}

// listTrades answers the player's open trades, proposed and received,
// newest first.
func (h *economyHandlers) listTrades(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, err := h.inv.Trades(ctx, claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	who := h.parties(ctx)
	out := make([]tradeView, 0, len(list))
	for _, t := range list {
		v, err := tradeOf(who, t)
		if err != nil {
			return fail(c, err)
		}
		out = append(out, v)
	}
	return c.JSON(fiber.Map{"trades": out})
}

type tradeRequest struct {
	To        string           `json:"to"`
	Offered   []inventory.Line `json:"offered"`
	Requested []inventory.Line `json:"requested"`
}

// proposeTrade puts the offered items in escrow and opens a trade with
// another player.
func (h *economyHandlers) proposeTrade(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var in tradeRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("to", in.To); err != nil {
		return err
	}
	ctx := c.UserContext()
	to, err := h.recipient(ctx, in.To)
	if err != nil {
		return fail(c, err)
	}
	t, err := h.inv.ProposeTrade(ctx, claimsOf(c).AccountID, to, lines(in.Offered), lines(in.Requested), key)
	if err != nil {
		return fail(c, err)
	}
	v, err := tradeOf(h.parties(ctx), t)
	if err != nil {
		return fail(c, err)
	}
	return c.Status(http.StatusCreated).JSON(v)
}

func (h *economyHandlers) acceptTrade(c *fiber.Ctx) error {
	return h.resolveTrade(c, h.inv.AcceptTrade)
}

func (h *economyHandlers) cancelTrade(c *fiber.Ctx) error {
	return h.resolveTrade(c, h.inv.CancelTrade)
}

// resolveTrade accepts or cancels a trade of the player's. Repeating the
// same answer is safe: it answers the trade again.
func (h *economyHandlers) resolveTrade(c *fiber.Ctx, resolve func(ctx context.Context, accountID, tradeID int64) (inventory.Trade, error)) error {
	id, err := pathID(c, inventory.ErrTradeNotFound)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	t, err := resolve(ctx, claimsOf(c).AccountID, id)
	if err != nil {
		return fail(c, err)
	}
	v, err := tradeOf(h.parties(ctx), t)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(v)
}
