package store

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
	shop "github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// RegionForm is the form that enables a region.
type RegionForm struct {
	Country, Name string
	Errs          Errs
	Problem       string
}

// RegionPage lists the enabled regions.
type RegionPage struct {
	Regions []shop.Region
	Form    RegionForm
	CanEdit bool
}

func (h *Screens) regions(c *fiber.Ctx) error { return h.renderRegions(c, http.StatusOK, RegionForm{}) }

func (h *Screens) renderRegions(c *fiber.Ctx, status int, form RegionForm) error {
	rs, err := h.store.Regions(c.UserContext())
	if err != nil {
		return err
	}
	d := RegionPage{Regions: rs, Form: form, CanEdit: h.f.Allowed(c, rbac.PermStoreEdit)}
	return frame.Render(c, status, regionPage(h.f.Page(c, "Store: regions", "store"), d))
}

// regionEdit audits a region's change as action in its transaction.
func regionEdit(c *fiber.Ctx, action, country string) catalog.Edit {
	me, _ := frame.StaffOf(c)
	return catalog.Edit{Editor: me.Email, Also: func(tx *sqlx.Tx, before, after any) error {
		return frame.Audit(c, tx, audit.Entry{Action: action, TargetType: "region", TargetID: country, Before: before, After: after})
	}}
}

func (h *Screens) enableRegion(c *fiber.Ctx) error {
	form := RegionForm{Country: strings.ToUpper(strings.TrimSpace(web.CleanText(c.FormValue("country"), 10))),
		Name: strings.TrimSpace(web.CleanText(c.FormValue("name"), 200))}
	form.Errs = Errs{}
	err := h.store.EnableRegion(c.UserContext(), shop.Region{Country: form.Country, Name: form.Name},
		regionEdit(c, "store.region.enable", form.Country))
	f := Form{}
	switch {
	case err == nil:
		return h.f.SetFlash(c, "ok", "The store now sells in "+form.Name+" ("+form.Country+") at its own prices.", "/store/regions")
	case errors.Is(err, catalog.ErrExists):
		f.Fail("country", form.Country+" is already enabled.")
	case fieldProblem(err, &f, "country", "name"):
	default:
		return err
	}
	form.Errs, form.Problem = f.Errs, f.Problem
	return h.renderRegions(c, http.StatusBadRequest, form)
}

func (h *Screens) disableRegion(c *fiber.Ctx) error {
	country := c.Params("country")
	err := h.store.DisableRegion(c.UserContext(), country, regionEdit(c, "store.region.disable", country))
	if errors.Is(err, shop.ErrNotFound) {
		return h.f.SetFlash(c, "error", country+" is not enabled.", "/store/regions")
	}
	if err != nil {
		return err
	}
	return h.f.SetFlash(c, "ok", "Disabled "+country+": its players now pay the default prices.", "/store/regions")
}
