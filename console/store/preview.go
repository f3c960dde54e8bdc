package store

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/account"
	shop "github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// Preview is the storefront as a player from one country sees it now.
type Preview struct {
	Country, Player       string // as typed
	CountryErr, PlayerErr string
	Shown                 bool   // the form was sent and the storefront is listed
	Region                string // the price-table row the country pays
	PlayerName            string
	Listings              []shop.Listing
	PaymentsOn            bool
}

func (h *Screens) preview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := Preview{Country: strings.TrimSpace(web.CleanText(c.Query("country"), 10)),
		Player: strings.TrimSpace(web.CleanText(c.Query("player"), 100)), PaymentsOn: h.store.PaymentsEnabled()}
	title := "Store: preview"
	if v.Country == "" && v.Player == "" {
		return frame.Render(c, http.StatusOK, previewPage(h.f.Page(c, title, "store"), v))
	}
	country := shop.Country(v.Country, "", "")
	if v.Country != "" && country == "" {
		v.CountryErr = "Enter a country code of two letters, like DE, or leave it blank for the default prices."
	}
	var accountID int64
	if v.Player != "" {
		a, _, err := h.svc.Player(ctx, v.Player)
		switch {
		case errors.Is(err, account.ErrNotFound):
			v.PlayerErr = "No player " + v.Player + "."
		case err != nil:
			return err
		default:
			accountID, v.PlayerName = a.ID, a.DisplayName
		}
	}
	if v.CountryErr != "" || v.PlayerErr != "" {
		return frame.Render(c, http.StatusBadRequest, previewPage(h.f.Page(c, title, "store"), v))
	}
	v.Country = country
	reg, listings, err := h.store.Storefront(ctx, accountID, country)
	if err != nil {
		return err
	}
	v.Shown, v.Region, v.Listings = true, reg, listings
	return frame.Render(c, http.StatusOK, previewPage(h.f.Page(c, title, "store"), v))
}

// listingPrice is what a listing costs in the previewed region.
func listingPrice(l shop.Listing) string {
	if l.Kind == shop.KindPack {
		return money(l.Amount, l.Currency)
	}
	return virtual(l.Amount, l.Currency)
}

// listingGives says what a listing gives the player.
func listingGives(l shop.Listing) string {
	if l.Kind == shop.KindPack {
		s := i64(l.GrantAmount) + " " + l.Grant
		if l.BonusAmount > 0 {
			s += " + " + i64(l.BonusAmount) + " bonus"
		}
		return s
	}
	return linesText(l.Items)
}

// bundleValue says what a bundle's parts cost on their own.
func bundleValue(l shop.Listing) string {
	if l.Value <= 0 {
		return ""
	}
	return virtual(l.Value, l.Currency) + " (saves " + i64(l.Value-l.Amount) + ")"
}

func remaining(n *int) string {
	if n == nil {
		return "no limit"
	}
	return itoa(*n)
}
