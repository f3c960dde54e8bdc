package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// storefrontView is what the player can buy now, priced for their region.
type storefrontView struct {
	Country  string          `json:"country"` // "" when no country is known
	Region   string          `json:"region"`  // the price-table row: the country, or "*" for the default
	Products []store.Listing `json:"products"`
}

// storefront lists the products on sale to the player, in storefront
// order, priced for the region of ?country=, the player's store setting or
// the country the ingress read from the client's address, in that order.
func (h *storeHandlers) storefront(c *fiber.Ctx) error {
	requested := c.Query("country")
	if err := checkCountry("country", requested); err != nil {
		return err
	}
	country, err := h.country(c, requested)
	if err != nil {
		return fail(c, err)
	}
	region, listings, err := h.store.Storefront(c.UserContext(), claimsOf(c).AccountID, country)
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(storefrontView{Country: country, Region: region, Products: listings})
}

type storeCountryRequest struct {
	Country *string `json:"country"`
}

type storeCountryView struct {
	Country string `json:"country"` // "" when cleared
}

// setCountry changes the player's store country setting; an empty country
// clears it.
func (h *storeHandlers) setCountry(c *fiber.Ctx) error {
	var in storeCountryRequest
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.Country == nil {
		return web.BadRequest(`country is required: a two-letter country code, or "" to clear the setting`)
	}
	country := strings.ToUpper(strings.TrimSpace(*in.Country))
	if err := checkCountry("country", country); err != nil {
		return err
	}
	err := h.store.SetStoreCountry(c.UserContext(), claimsOf(c).AccountID, country)
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return web.NewError(http.StatusBadRequest, codeInvalidField, fe.Error())
	}
	if err != nil {
		return fail(c, err)
	}
	return c.JSON(storeCountryView{Country: country})
}
