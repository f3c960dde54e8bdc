package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// orderRequest buys one product. Country, when given, is the country the
// storefront was shown for (its ?country=), so that a pack is charged at
// the price the player saw.
type orderRequest struct {
	ProductID string `json:"product_id"`
	Country   string `json:"country"`
}

// decodeOrder reads an order request and picks its country.
func (h *storeHandlers) decodeOrder(c *fiber.Ctx) (orderRequest, error) {
	var in orderRequest
	if err := web.Decode(c, &in); err != nil {
		return in, err
	}
	if err := require("product_id", in.ProductID); err != nil {
		return in, err
	}
	if err := checkCountry("country", in.Country); err != nil {
		return in, err
	}
	country, err := h.country(c, in.Country)
	if err != nil {
		return in, fail(c, err)
	}
	in.Country = country
	return in, nil
}

// created answers 201 with v for a new order, or 200 with the header
// Idempotent-Replayed when the request repeated an Idempotency-Key.
func created(c *fiber.Ctx, o store.Order, v any) error {
	if o.Replayed {
		c.Set("Idempotent-Replayed", "true")
		return c.JSON(v)
	}
	return c.Status(http.StatusCreated).JSON(v)
}

// purchase buys an offer with virtual currency: the wallet is debited, the
// items granted and the order recorded, all or nothing.
func (h *storeHandlers) purchase(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	in, err := h.decodeOrder(c)
	if err != nil {
		return err
	}
	o, err := h.store.Buy(c.UserContext(), claimsOf(c).AccountID, in.ProductID, key, in.Country)
	if err != nil {
		return fail(c, err)
	}
	return created(c, o, o)
}

type checkoutView struct {
	Order       store.Order `json:"order"`
	CheckoutURL string      `json:"checkout_url"`
}

// checkout starts a real-money purchase of a pack: a pending order and a
// Stripe Checkout page to pay it on. The currency is credited when Stripe
// reports the payment (the webhook).
func (h *storeHandlers) checkout(c *fiber.Ctx) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	in, err := h.decodeOrder(c)
	if err != nil {
		return err
	}
	claims := claimsOf(c)
	o, err := h.store.Checkout(c.UserContext(), claims.AccountID, claims.PlayerID, in.ProductID, key, in.Country)
	if err != nil {
		return fail(c, err)
	}
	return created(c, o, checkoutView{Order: o, CheckoutURL: o.CheckoutURL})
}
