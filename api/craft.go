package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
	"github.com/musterhq/muster/web"
)

// operationView is what a craft or disenchant did. A retry with the same
// Idempotency-Key answers the first one's changes with replayed true.
type operationView struct {
	OperationID int64              `json:"operation_id"`
	Replayed    bool               `json:"replayed"`
	Changes     []inventory.Change `json:"changes"`
	Balances    []ledger.Balance   `json:"balances"` // the player's wallets now
}

func (h *economyHandlers) answerOperation(c *fiber.Ctx, res inventory.Result) error {
	balances, err := h.ledger.Balances(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return fail(c, err)
	}
	if res.Changes == nil {
		res.Changes = []inventory.Change{}
	}
	if res.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	return c.JSON(operationView{OperationID: res.OpID, Replayed: res.Replayed, Changes: res.Changes, Balances: balances})
}

type craftRequest struct {
	RecipeID string `json:"recipe_id"`
}

// craft makes a recipe's output from its inputs and cost, all or nothing.
func (h *economyHandlers) craft(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var in craftRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("recipe_id", in.RecipeID); err != nil {
		return err
	}
	res, err := h.inv.Craft(c.UserContext(), claimsOf(c).AccountID, in.RecipeID, key)
	if err != nil {
		return fail(c, err)
	}
	return h.answerOperation(c, res)
}

type disenchantRequest struct {
	ItemID   string `json:"item_id"`
	Quantity int    `json:"quantity"`
}

// disenchant turns items the player holds into their disenchant yield.
func (h *economyHandlers) disenchant(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var in disenchantRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := require("item_id", in.ItemID); err != nil {
		return err
	}
	if in.Quantity < 1 {
		return web.BadRequest("quantity must be 1 or more")
	}
	res, err := h.inv.Disenchant(c.UserContext(), claimsOf(c).AccountID, in.ItemID, in.Quantity, key)
	if err != nil {
		return fail(c, err)
	}
	return h.answerOperation(c, res)
}
