package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/store"
)

// errOrderNotFound answers an order id that is not one of the player's.
var errOrderNotFound = errors.New("no such order")

type orderPage struct {
	Orders []store.Order `json:"orders"`
	Next   *int64        `json:"next"` // the before of the next page; null on the last
}

// listOrders answers the player's purchase history, newest first, a page
// at a time.
func (h *storeHandlers) listOrders(c *fiber.Ctx) error {
	before, err := queryInt(c, "before", 0, 1<<63-1)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, 100)
	if err != nil {
		return err
	}
	orders, err := h.store.Orders(c.UserContext(), claimsOf(c).AccountID, before, int(limit))
	if err != nil {
		return fail(c, err)
	}
	page := orderPage{Orders: orders}
	if len(orders) == int(limit) {
		page.Next = &orders[len(orders)-1].ID
	}
	return c.JSON(page)
}

// getOrder answers one of the player's orders by its id; any other id,
// another player's order included, is 404 order_not_found.
func (h *storeHandlers) getOrder(c *fiber.Ctx) error {
	o, err := h.store.Order(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.AccountID != claimsOf(c).AccountID) {
		return fail(c, errOrderNotFound)
	}
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(o)
}
