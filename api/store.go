package api

import (
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// Store holds what the store routes need.
type Store struct {
	Store         *store.Store
	Verifier      Verifier
	Webhooks      store.Webhooks // signing secrets and tolerance
	CountryHeader string         // header the ingress sets with the client's country (e.g. X-Country-Code)
	// Limiter and WriteLimit bound each player's purchases and checkouts
	// together: WriteLimit.N per WriteLimit.Per. A nil Limiter or an N of 0
	// turns the limit off.
	Limiter    state.Limiter
	WriteLimit auth.Rule // purchases+checkouts per player
	Log        *slog.Logger
}

// MountStore adds the store routes to app: the storefront, purchases,
// checkouts and order history need a player's access token; Stripe's
// webhook is authenticated by its signature alone.
func MountStore(app fiber.Router, s Store) {
	h := &storeHandlers{store: s.Store, webhooks: s.Webhooks, countryHeader: s.CountryHeader,
		log: s.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	player := RequirePlayer(s.Verifier)
	write := writeLimit(s.Limiter, s.WriteLimit, s.Log, "store")

	v1 := app.Group("/v1")
	v1.Get("/store", player, h.storefront)
	v1.Post("/store/purchases", player, write, h.purchase)
	v1.Post("/store/checkouts", player, h.paymentsOn, write, h.checkout)
	v1.Put("/me/store/country", player, h.setCountry)
	v1.Get("/me/orders", player, h.listOrders)
	v1.Get("/me/orders/:id", player, h.getOrder)
	v1.Post("/stripe/webhook", h.paymentsOn, h.webhook)
}

// codeInvalidField is the code of an invalid field the domain names
// (catalog.FieldError), with the field and the rule as the message.
const codeInvalidField = "invalid_field"

type storeHandlers struct {
	store         *store.Store
	webhooks      store.Webhooks
	countryHeader string
	log           *slog.Logger
}

// paymentsOn answers 501 payments_not_configured on the real-money routes
// while Stripe is not configured.
func (h *storeHandlers) paymentsOn(c *fiber.Ctx) error {
	if !h.store.PaymentsEnabled() {
		return fail(c, store.ErrPaymentsOff)
	}
	return c.Next()
}

// checkCountry answers 400 unless requested is empty or two letters (in
// either case).
func checkCountry(field, requested string) error {
	ok := len(requested) == 2
	for i := 0; i < len(requested) && ok; i++ {
		b := requested[i]
		ok = ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
	}
	if requested != "" && !ok {
		return web.BadRequest(field + " must be a two-letter country code (ISO 3166-1 alpha-2), like DE")
	}
	return nil
}

// country picks the player's store country: the one the request names,
// else the player's setting, else the one the ingress read from the
// client's address. It is "" when none is known.
func (h *storeHandlers) country(c *fiber.Ctx, requested string) (string, error) {
	setting, err := h.store.StoreCountry(c.UserContext(), claimsOf(c).AccountID)
	if err != nil {
		return "", err
	}
	var fromAddress string
	if h.countryHeader != "" {
		fromAddress = strings.Clone(c.Get(h.countryHeader)) // fiber reuses the header's bytes
	}
	return store.Country(strings.Clone(requested), setting, fromAddress), nil
}
