// Package store is the console's store screens: the designers' editor of
// offers and currency packs with their regional prices, the regions the
// store sells in, a preview of the storefront as a player of a region sees
// it, a player's orders with their payment trail, and support's refunds of
// real-money orders. It also renders the player page's Purchases section
// and the dashboard's revenue. Every change writes its audit row in the
// change's own transaction.
package store

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
	shop "github.com/musterhq/muster/domain/store"
)

// Screens serves the store screens and renders the store's sections of
// other pages.
type Screens struct {
	f       *frame.Frame
	svc     *auth.Service
	catalog *catalog.Store
	store   *shop.Store
}

// New returns the store screens.
func New(f *frame.Frame, svc *auth.Service, cat *catalog.Store, st *shop.Store) *Screens {
	return &Screens{f: f, svc: svc, catalog: cat, store: st}
}

// Mount adds the store screens under /store and the order pages under
// /orders. Creation forms live under /store/new/, a path no product id can
// take.
func (h *Screens) Mount(rt *frame.Router) {
	rt.Get("/store", rbac.PermStoreView, h.products)
	rt.Get("/store/new/offer", rbac.PermStoreEdit, h.newOffer)
	rt.Get("/store/new/pack", rbac.PermStoreEdit, h.newPack)
	rt.Post("/store/products", rbac.PermStoreEdit, h.createProduct)
	rt.Get("/store/products/:id", rbac.PermStoreView, h.product)
	rt.Post("/store/products/:id", rbac.PermStoreEdit, h.updateProduct)

	rt.Get("/store/regions", rbac.PermStoreView, h.regions)
	rt.Post("/store/regions", rbac.PermStoreEdit, h.enableRegion)
	rt.Post("/store/regions/:country/disable", rbac.PermStoreEdit, h.disableRegion)

	rt.Get("/store/preview", rbac.PermStoreView, h.preview)

	rt.Get("/orders/:id", rbac.PermOrdersView, h.order)
	rt.Post("/orders/:id/refund", rbac.PermOrdersRefund, h.refund)
}

// Errs and Form are the console's content form types.
type (
	Errs = frame.Errs
	Form = frame.Form
)

// edit is the signed-in staff member's content edit (frame.ContentEdit).
var edit = frame.ContentEdit

// fieldProblem puts a domain FieldError beside its field when the form has
// one, else on the whole form. It reports whether err was one.
func fieldProblem(err error, form *Form, fields ...string) bool {
	var fe *shop.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	msg := sentence(fe.Problem)
	for _, f := range fields {
		if f == fe.Field {
			form.Fail(f, msg)
			return true
		}
	}
	form.Problem = strings.ReplaceAll(fe.Field, "_", " ") + ": " + msg
	return true
}

var sentence = frame.Sentence

func notFound(noun, id string) error {
	return fiber.NewError(http.StatusNotFound, "no "+noun+" "+id)
}

func checked(c *fiber.Ctx, name string) bool { return c.FormValue(name) != "" }
