package catalog

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	content "github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

func (h *handler) currencies(c *fiber.Ctx) error {
	rows, err := h.store.Currencies(c.UserContext())
	if err != nil {
		return err
	}
	return frame.Render(c, http.StatusOK, currencyList(h.f.Page(c, "Catalog: currencies", "catalog"), rows, h.f.Allowed(c, rbac.PermCatalogEdit)))
}

// CurrencyForm is the currency editor as typed.
type CurrencyForm struct {
	Form
	Code, Name, Kind string
	Retired          bool
}

// currencyFields are the fields the currency form shows errors beside.
var currencyFields = []string{"code", "name", "kind"}

// CurrencyPage is the currency editor with what it offers.
type CurrencyPage struct {
	Form      CurrencyForm
	CanEdit   bool
	Revisions []content.Revision
}

func (h *handler) renderCurrency(c *fiber.Ctx, status int, form CurrencyForm) error {
	d := CurrencyPage{Form: form, CanEdit: h.f.Allowed(c, rbac.PermCatalogEdit)}
	title := "New currency"
	if !form.New {
		title = "Currency " + form.Code
		var err error
		if d.Revisions, err = h.store.Revisions(c.UserContext(), "currency", form.Code); err != nil {
			return err
		}
	}
	return frame.Render(c, status, currencyEditor(h.f.Page(c, title, "catalog"), d))
}

func (h *handler) newCurrency(c *fiber.Ctx) error {
	return h.renderCurrency(c, http.StatusOK, CurrencyForm{Form: Form{New: true}, Kind: content.CurrencyKinds[0]})
}

func (h *handler) currency(c *fiber.Ctx) error {
	cur, err := h.store.Currency(c.UserContext(), c.Params("code"))
	if errors.Is(err, content.ErrNotFound) {
		return notFound("currency", c.Params("code"))
	}
	if err != nil {
		return err
	}
	return h.renderCurrency(c, http.StatusOK, CurrencyForm{Form: Form{Version: cur.Version}, Code: cur.Code, Name: cur.Name, Kind: cur.Kind, Retired: cur.Retired})
}

func currencyFormOf(c *fiber.Ctx) CurrencyForm {
	version, _ := strconv.Atoi(c.FormValue("version"))
	return CurrencyForm{Form: Form{Version: version}, Code: strings.TrimSpace(c.FormValue("code")),
		Name: strings.TrimSpace(web.CleanText(c.FormValue("name"), 500)), Kind: c.FormValue("kind"), Retired: checked(c, "retired")}
}

func (h *handler) createCurrency(c *fiber.Ctx) error {
	form := currencyFormOf(c)
	form.New, form.Version = true, 0
	return h.saveCurrency(c, form)
}

func (h *handler) updateCurrency(c *fiber.Ctx) error {
	form := currencyFormOf(c)
	form.Code = c.Params("code")
	if form.Version < 1 {
		return fiber.NewError(http.StatusBadRequest, "the form has no version; reload the page")
	}
	return h.saveCurrency(c, form)
}

func (h *handler) saveCurrency(c *fiber.Ctx, form CurrencyForm) error {
	cur := content.Currency{Code: form.Code, Name: form.Name, Kind: form.Kind, Retired: form.Retired}
	saved, err := h.store.SaveCurrency(c.UserContext(), cur, edit(c, form.Version, "catalog.currency.save", "currency", cur.Code))
	if err != nil {
		status := saveError(err, &form.Form, "currency", "code", currencyFields...)
		if status == 0 {
			return err
		}
		return h.renderCurrency(c, status, form)
	}
	return h.f.SetFlash(c, "ok", "Saved "+saved.Name+" ("+saved.Code+"), version "+itoa(saved.Version)+".", "/catalog/currencies/"+saved.Code)
}
