package catalog

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/audit"
	content "github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/rbac"
	"github.com/musterhq/muster/web"
)

// itemPageSize is how many items the list shows at a time.
const itemPageSize = 50

// ItemList is the item list with its filter.
type ItemList struct {
	Kind, Query string
	Retired     bool
	After       string // the id the page starts after; "" on the first page
	Rows        []content.Item
	Next        string // link to the next page; "" on the last
	CanEdit     bool
}

func (h *handler) items(c *fiber.Ctx) error {
	l := ItemList{Kind: c.Query("kind"), Query: strings.TrimSpace(web.CleanText(c.Query("q"), 100)),
		Retired: c.Query("retired") != "", After: c.Query("after"), CanEdit: h.f.Allowed(c, rbac.PermCatalogEdit)}
	rows, err := h.store.Items(c.UserContext(), content.Filter{Kind: l.Kind, Query: l.Query, IncludeRetired: l.Retired,
		After: l.After, Limit: itemPageSize + 1})
	if err != nil {
		return err
	}
	if len(rows) > itemPageSize {
		rows = rows[:itemPageSize]
		q := url.Values{"after": {rows[len(rows)-1].ID}}
		for k, v := range map[string]string{"kind": l.Kind, "q": l.Query} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if l.Retired {
			q.Set("retired", "1")
		}
		l.Next = "/catalog?" + q.Encode()
	}
	l.Rows = rows
	return frame.Render(c, http.StatusOK, itemList(h.f.Page(c, "Catalog: items", "catalog"), l))
}

// ItemForm is the item editor as typed.
type ItemForm struct {
	Form
	ID, Name, Kind, Rarity, Tags, MaxStack, Lifetime, EndsAt string
	CraftValue, DisenchantCurrency, DisenchantYield          string
	Tradable, Giftable, Retired                              bool
}

func itemForm(it content.Item) ItemForm {
	return ItemForm{Form: Form{Version: it.Version}, ID: it.ID, Name: it.Name, Kind: it.Kind, Rarity: it.Rarity,
		Tags: strings.Join(it.Tags, ", "), MaxStack: itoa(it.MaxStack), Lifetime: showInt(it.LifetimeSeconds),
		EndsAt: frame.ShowTime(it.EndsAt), CraftValue: itoa64(it.CraftValue), DisenchantCurrency: deref(it.DisenchantCurrency),
		DisenchantYield: itoa64(it.DisenchantYield), Tradable: it.Tradable, Giftable: it.Giftable, Retired: it.Retired}
}

// itemFormOf reads the posted form.
func itemFormOf(c *fiber.Ctx) ItemForm {
	v := func(name string) string { return strings.TrimSpace(web.CleanText(c.FormValue(name), 500)) }
	version, _ := strconv.Atoi(c.FormValue("version"))
	return ItemForm{Form: Form{Version: version}, ID: v("id"), Name: v("name"), Kind: v("kind"), Rarity: v("rarity"),
		Tags: v("tags"), MaxStack: v("max_stack"), Lifetime: v("lifetime_seconds"), EndsAt: v("ends_at"),
		CraftValue: v("craft_value"), DisenchantCurrency: v("disenchant_currency"), DisenchantYield: v("disenchant_yield"),
		Tradable: checked(c, "tradable"), Giftable: checked(c, "giftable"), Retired: checked(c, "retired")}
}

// item returns the definition the form describes, noting on the form what
// could not be read.
func (f *ItemForm) item() content.Item {
	return content.Item{ID: f.ID, Name: f.Name, Kind: f.Kind, Rarity: f.Rarity, Tags: splitTags(f.Tags),
		MaxStack: int(f.Whole("max_stack", f.MaxStack, 1)), LifetimeSeconds: f.OptionalWhole("lifetime_seconds", f.Lifetime),
		EndsAt: f.OptionalTime("ends_at", f.EndsAt), Tradable: f.Tradable, Giftable: f.Giftable,
		CraftValue: f.Whole("craft_value", f.CraftValue, 0), DisenchantCurrency: optional(f.DisenchantCurrency),
		DisenchantYield: f.Whole("disenchant_yield", f.DisenchantYield, 0), Retired: f.Retired}
}

// itemFields are the fields the item form shows errors beside.
var itemFields = []string{"id", "name", "kind", "rarity", "tags", "max_stack", "lifetime_seconds", "ends_at",
	"tradable", "giftable", "craft_value", "disenchant_currency", "disenchant_yield"}

// ItemPage is the item editor with what it offers.
type ItemPage struct {
	Form       ItemForm
	CanEdit    bool
	Currencies []content.Currency
	Revisions  []content.Revision
}

func (h *handler) renderItem(c *fiber.Ctx, status int, form ItemForm) error {
	ctx := c.UserContext()
	d := ItemPage{Form: form, CanEdit: h.f.Allowed(c, rbac.PermCatalogEdit)}
	var err error
	if d.Currencies, err = h.store.Currencies(ctx); err != nil {
		return err
	}
	title := "New item"
	if !form.New {
		title = "Item " + form.ID
		if d.Revisions, err = h.store.Revisions(ctx, "item", form.ID); err != nil {
			return err
		}
	}
	return frame.Render(c, status, itemEditor(h.f.Page(c, title, "catalog"), d))
}

func (h *handler) newItem(c *fiber.Ctx) error {
	return h.renderItem(c, http.StatusOK, ItemForm{Form: Form{New: true}, Kind: content.Kinds[0],
		Rarity: content.Rarities[0], MaxStack: "1", CraftValue: "0", DisenchantYield: "0"})
}

func (h *handler) item(c *fiber.Ctx) error {
	it, err := h.store.Item(c.UserContext(), c.Params("id"))
	if errors.Is(err, content.ErrNotFound) {
		return notFound("item", c.Params("id"))
	}
	if err != nil {
		return err
	}
	return h.renderItem(c, http.StatusOK, itemForm(it))
}

func (h *handler) createItem(c *fiber.Ctx) error {
	form := itemFormOf(c)
	form.New, form.Version = true, 0
	return h.saveItem(c, form)
}

func (h *handler) updateItem(c *fiber.Ctx) error {
	form := itemFormOf(c)
	form.ID = c.Params("id")
	if form.Version < 1 {
		return fiber.NewError(http.StatusBadRequest, "the form has no version; reload the page")
	}
	return h.saveItem(c, form)
}

func (h *handler) saveItem(c *fiber.Ctx, form ItemForm) error {
	it := form.item()
	if len(form.Errs) > 0 {
		return h.renderItem(c, http.StatusBadRequest, form)
	}
	saved, err := h.store.SaveItem(c.UserContext(), it, edit(c, form.Version, "catalog.item.save", "item", it.ID))
	if err != nil {
		status := saveError(err, &form.Form, "item", "id", itemFields...)
		if status == 0 {
			return err
		}
		return h.renderItem(c, status, form)
	}
	return h.f.SetFlash(c, "ok", "Saved "+saved.Name+" ("+saved.ID+"), version "+itoa(saved.Version)+".", "/catalog/items/"+saved.ID)
}

func (h *handler) deleteItem(c *fiber.Ctx) error {
	id := c.Params("id")
	version, _ := strconv.Atoi(c.FormValue("version"))
	err := h.store.DeleteItem(c.UserContext(), id, content.Edit{Expected: version, Also: func(tx *sqlx.Tx, before, _ any) error {
		return frame.Audit(c, tx, audit.Entry{Action: "catalog.item.delete", TargetType: "item", TargetID: id, Before: before})
	}})
	if err == nil {
		return h.f.SetFlash(c, "ok", "Deleted item "+id+".", "/catalog")
	}
	it, lerr := h.store.Item(c.UserContext(), id)
	if errors.Is(lerr, content.ErrNotFound) {
		return notFound("item", id)
	}
	if lerr != nil {
		return lerr
	}
	form := itemForm(it)
	switch {
	case errors.Is(err, content.ErrInUse):
		form.Problem = "Players own this item or a recipe uses it, so it cannot be deleted. Retire it instead: tick Retired and save."
	case errors.Is(err, content.ErrStaleVersion):
		form.Problem = "Someone else changed this item since you opened it; look at their version below before deleting."
	default:
		return err
	}
	return h.renderItem(c, http.StatusConflict, form)
}
