// Package catalog is the designers' editor of the economy's content: item
// definitions, currencies and crafting recipes. Every save names the version
// the form was loaded from, so a stale form never overwrites a colleague's
// work, and writes its audit row in the save's own transaction.
package catalog

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	content "github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
)

type handler struct {
	f     *frame.Frame
	store *content.Store
}

// Mount adds the catalog screens under /catalog. Creation forms live under
// /catalog/new/, a path no item, currency or recipe id can take.
func Mount(rt *frame.Router, f *frame.Frame, store *content.Store) {
	h := &handler{f: f, store: store}
	rt.Get("/catalog", rbac.PermCatalogView, h.items)
	rt.Get("/catalog/new/item", rbac.PermCatalogEdit, h.newItem)
	rt.Post("/catalog/items", rbac.PermCatalogEdit, h.createItem)
	rt.Get("/catalog/items/:id", rbac.PermCatalogView, h.item)
	rt.Post("/catalog/items/:id", rbac.PermCatalogEdit, h.updateItem)
	rt.Post("/catalog/items/:id/delete", rbac.PermCatalogEdit, h.deleteItem)

	rt.Get("/catalog/currencies", rbac.PermCatalogView, h.currencies)
	rt.Get("/catalog/new/currency", rbac.PermCatalogEdit, h.newCurrency)
	rt.Post("/catalog/currencies", rbac.PermCatalogEdit, h.createCurrency)
	rt.Get("/catalog/currencies/:code", rbac.PermCatalogView, h.currency)
	rt.Post("/catalog/currencies/:code", rbac.PermCatalogEdit, h.updateCurrency)

	rt.Get("/catalog/recipes", rbac.PermCatalogView, h.recipes)
	rt.Get("/catalog/new/recipe", rbac.PermCatalogEdit, h.newRecipe)
	rt.Post("/catalog/recipes", rbac.PermCatalogEdit, h.createRecipe)
	rt.Get("/catalog/recipes/:id", rbac.PermCatalogView, h.recipe)
	rt.Post("/catalog/recipes/:id", rbac.PermCatalogEdit, h.updateRecipe)
}

// Errs and Form are the console's content form types.
type (
	Errs = frame.Errs
	Form = frame.Form
)

// edit is the signed-in staff member's content edit (frame.ContentEdit).
var edit = frame.ContentEdit

// saveError puts a save's error on the form, naming the field when the
// domain did, and returns the status to answer with. The error is not the
// form's fault when it returns 0.
func saveError(err error, form *Form, noun, idField string, fields ...string) int {
	var fe *content.FieldError
	switch {
	case errors.Is(err, content.ErrStaleVersion):
		form.Problem = "Someone else changed this " + noun + " since you opened it. Reload the page to see their version, then make your change again."
		return http.StatusConflict
	case errors.Is(err, content.ErrExists):
		form.Fail(idField, "A "+noun+" with this id already exists.")
		return http.StatusConflict
	case errors.As(err, &fe):
		msg := sentence(fe.Problem)
		for _, f := range fields {
			if f == fe.Field {
				form.Fail(f, msg)
				return http.StatusBadRequest
			}
		}
		form.Problem = fe.Field + ": " + msg
		return http.StatusBadRequest
	case errors.Is(err, content.ErrUnknownCurrency):
		form.Fail("disenchant_currency", "Choose a defined currency.")
		return http.StatusBadRequest
	case errors.Is(err, content.ErrNotFound):
		form.Problem = "This " + noun + " no longer exists; someone deleted it."
		return http.StatusNotFound
	}
	return 0
}

var sentence = frame.Sentence

// notFound answers 404 for an entry that does not exist.
func notFound(noun, id string) error {
	return fiber.NewError(http.StatusNotFound, "no "+noun+" "+id)
}

// checked reads a checkbox.
func checked(c *fiber.Ctx, name string) bool { return c.FormValue(name) != "" }
