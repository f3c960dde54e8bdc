package store

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/console/frame"
	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/rbac"
	shop "github.com/musterhq/muster/domain/store"
	"github.com/musterhq/muster/web"
)

// ProductList is the list of offers and packs.
type ProductList struct {
	Rows    []shop.Product
	Retired bool // retired products are listed too
	CanEdit bool
}

func (h *Screens) products(c *fiber.Ctx) error {
	l := ProductList{Retired: c.Query("retired") != "", CanEdit: h.f.Allowed(c, rbac.PermStoreEdit)}
	var err error
	if l.Rows, err = h.store.Products(c.UserContext(), l.Retired); err != nil {
		return err
	}
	return frame.Render(c, http.StatusOK, productList(h.f.Page(c, "Store: products", "store"), l))
}

// PriceRow is one row of a pack's price table as typed.
type PriceRow struct {
	Country, Currency, Amount string
}

// ProductForm is the offer or pack editor as typed. An offer's items are
// lines of "item_id x quantity"; a pack's prices are rows, one of them the
// default (country *). Real-money amounts are typed in the main unit.
type ProductForm struct {
	Form
	Kind, ID, Name, Description, StartsAt, EndsAt, PurchaseLimit, Position string
	Retired                                                                bool
	PriceCurrency, PriceAmount, Items                                      string // offers
	GrantCurrency, GrantAmount, BonusAmount                                string // packs
	Prices                                                                 []PriceRow
}

// Offer reports whether the form edits an offer.
func (f ProductForm) Offer() bool { return f.Kind == shop.KindOffer }

// blankPriceRows is how many empty rows the price table offers for new
// countries; maxPriceRows bounds the rows a form may send.
const (
	blankPriceRows = 3
	maxPriceRows   = 250
)

// withBlankRows returns the price rows with empty ones to fill in.
func (f ProductForm) withBlankRows() []PriceRow {
	rows := append([]PriceRow(nil), f.Prices...)
	for range blankPriceRows {
		rows = append(rows, PriceRow{})
	}
	return rows
}

func productForm(p shop.Product) ProductForm {
	f := ProductForm{Form: Form{Version: p.Version}, Kind: p.Kind, ID: p.ID, Name: p.Name, Description: p.Description,
		StartsAt: frame.ShowTime(p.StartsAt), EndsAt: frame.ShowTime(p.EndsAt), PurchaseLimit: itoa(p.PurchaseLimit),
		Position: itoa(p.Position), Retired: p.Retired}
	if p.Kind == shop.KindOffer {
		f.PriceCurrency, f.PriceAmount, f.Items = p.PriceCurrency, i64(p.PriceAmount), frame.ShowLines(p.Items)
		return f
	}
	f.GrantCurrency, f.GrantAmount, f.BonusAmount = p.GrantCurrency, i64(p.GrantAmount), i64(p.BonusAmount)
	for _, pr := range p.Prices {
		f.Prices = append(f.Prices, PriceRow{Country: pr.Country, Currency: pr.Currency, Amount: plainMoney(pr.Amount, pr.Currency)})
	}
	return f
}

// productFormOf reads the posted form.
func productFormOf(c *fiber.Ctx) ProductForm {
	v := func(name string) string { return strings.TrimSpace(web.CleanText(c.FormValue(name), 2000)) }
	version, _ := strconv.Atoi(c.FormValue("version"))
	f := ProductForm{Form: Form{Version: version}, Kind: v("kind"), ID: v("id"), Name: v("name"), Description: v("description"),
		StartsAt: v("starts_at"), EndsAt: v("ends_at"), PurchaseLimit: v("purchase_limit"), Position: v("position"),
		Retired: checked(c, "retired"), PriceCurrency: v("price_currency"), PriceAmount: v("price_amount"), Items: v("items"),
		GrantCurrency: v("grant_currency"), GrantAmount: v("grant_amount"), BonusAmount: v("bonus_amount")}
	rows, _ := strconv.Atoi(c.FormValue("price_rows"))
	for i := range min(max(rows, 0), maxPriceRows) {
		n := strconv.Itoa(i)
		r := PriceRow{Country: strings.ToUpper(v("price_country_" + n)), Currency: strings.ToLower(v("price_currency_" + n)),
			Amount: v("price_amount_" + n)}
		if r != (PriceRow{}) {
			f.Prices = append(f.Prices, r)
		}
	}
	return f
}

// product returns the product the form describes, noting on the form what
// could not be read.
func (f *ProductForm) product() shop.Product {
	p := shop.Product{ID: f.ID, Kind: f.Kind, Name: f.Name, Description: f.Description,
		StartsAt: f.OptionalTime("starts_at", f.StartsAt), EndsAt: f.OptionalTime("ends_at", f.EndsAt),
		PurchaseLimit: int(f.Whole("purchase_limit", f.PurchaseLimit, 0)), Position: int(f.Whole("position", f.Position, 0)),
		Retired: f.Retired}
	if f.Kind == shop.KindOffer {
		p.PriceCurrency, p.PriceAmount, p.Items = f.PriceCurrency, f.Whole("price_amount", f.PriceAmount, 0), f.Lines("items", f.Items)
		return p
	}
	p.GrantCurrency, p.GrantAmount, p.BonusAmount = f.GrantCurrency, f.Whole("grant_amount", f.GrantAmount, 0), f.Whole("bonus_amount", f.BonusAmount, 0)
	for i, r := range f.Prices {
		row := "Row " + strconv.Itoa(i+1)
		if r.Country != "" {
			row += " (" + r.Country + ")"
		}
		if r.Country == "" || r.Currency == "" || r.Amount == "" {
			f.Fail("prices", row+": fill in the country (or * for the default), the currency and the amount.")
			continue
		}
		amount, err := parseMoney(r.Amount, r.Currency)
		if err != nil {
			f.Fail("prices", row+": "+sentence(err.Error()))
			continue
		}
		p.Prices = append(p.Prices, shop.Price{Country: r.Country, Currency: r.Currency, Amount: amount})
	}
	return p
}

// productFields are the fields the product form shows errors beside.
var productFields = []string{"id", "name", "description", "starts_at", "ends_at", "purchase_limit", "position",
	"price_currency", "price_amount", "items", "grant_currency", "grant_amount", "bonus_amount", "prices"}

// ProductPage is the product editor with what it offers.
type ProductPage struct {
	Form       ProductForm
	CanEdit    bool
	Currencies []catalog.Currency
	Regions    []shop.Region // a pack needs a price for each
	Revisions  []catalog.Revision
}

func (h *Screens) renderProduct(c *fiber.Ctx, status int, form ProductForm) error {
	ctx := c.UserContext()
	d := ProductPage{Form: form, CanEdit: h.f.Allowed(c, rbac.PermStoreEdit)}
	var err error
	if d.Currencies, err = h.catalog.Currencies(ctx); err != nil {
		return err
	}
	if !form.Offer() {
		if d.Regions, err = h.store.Regions(ctx); err != nil {
			return err
		}
	}
	title := "New offer"
	if !form.Offer() {
		title = "New currency pack"
	}
	if !form.New {
		title = "Offer " + form.ID
		if !form.Offer() {
			title = "Currency pack " + form.ID
		}
		if d.Revisions, err = h.catalog.Revisions(ctx, "product", form.ID); err != nil {
			return err
		}
	}
	return frame.Render(c, status, productEditor(h.f.Page(c, title, "store"), d))
}

func (h *Screens) newOffer(c *fiber.Ctx) error {
	return h.renderProduct(c, http.StatusOK, ProductForm{Form: Form{New: true}, Kind: shop.KindOffer, PurchaseLimit: "0", Position: "0"})
}

func (h *Screens) newPack(c *fiber.Ctx) error {
	return h.renderProduct(c, http.StatusOK, ProductForm{Form: Form{New: true}, Kind: shop.KindPack, PurchaseLimit: "0",
		Position: "0", BonusAmount: "0", Prices: []PriceRow{{Country: shop.DefaultCountry}}})
}

func (h *Screens) product(c *fiber.Ctx) error {
	p, err := h.store.Product(c.UserContext(), c.Params("id"))
	if errors.Is(err, shop.ErrNotFound) {
		return notFound("product", c.Params("id"))
	}
	if err != nil {
		return err
	}
	return h.renderProduct(c, http.StatusOK, productForm(p))
}

func (h *Screens) createProduct(c *fiber.Ctx) error {
	form := productFormOf(c)
	if form.Kind != shop.KindOffer && form.Kind != shop.KindPack {
		return fiber.NewError(http.StatusBadRequest, "the form names no product kind; reload the page")
	}
	form.New, form.Version = true, 0
	return h.saveProduct(c, form)
}

func (h *Screens) updateProduct(c *fiber.Ctx) error {
	form := productFormOf(c)
	form.ID = c.Params("id")
	if form.Version < 1 || (form.Kind != shop.KindOffer && form.Kind != shop.KindPack) {
		return fiber.NewError(http.StatusBadRequest, "the form has no version or kind; reload the page")
	}
	return h.saveProduct(c, form)
}

func (h *Screens) saveProduct(c *fiber.Ctx, form ProductForm) error {
	p := form.product()
	if len(form.Errs) > 0 {
		return h.renderProduct(c, http.StatusBadRequest, form)
	}
	saved, err := h.store.SaveProduct(c.UserContext(), p, edit(c, form.Version, "store.product.save", "product", p.ID))
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, catalog.ErrStaleVersion):
			form.Problem = "Someone else changed this product since you opened it. Reload the page to see their version, then make your change again."
			status = http.StatusConflict
		case errors.Is(err, catalog.ErrExists):
			form.Fail("id", "A product with this id already exists.")
			status = http.StatusConflict
		case errors.Is(err, shop.ErrNotFound):
			form.Problem = "This product no longer exists."
			status = http.StatusNotFound
		case fieldProblem(err, &form.Form, productFields...):
		default:
			return err
		}
		return h.renderProduct(c, status, form)
	}
	return h.f.SetFlash(c, "ok", "Saved "+saved.Name+" ("+saved.ID+"), version "+itoa(saved.Version)+".", "/store/products/"+saved.ID)
}

// productAction is where the product form posts: the list to create, the
// product to update.
func productAction(f ProductForm) string {
	if f.New {
		return "/store/products"
	}
	return "/store/products/" + f.ID
}

// priceOf summarises what a product costs: an offer's virtual price, a
// pack's default price and how many countries have their own.
func priceOf(p shop.Product) string {
	if p.Kind == shop.KindOffer {
		return virtual(p.PriceAmount, p.PriceCurrency)
	}
	def, ok := p.PriceFor(shop.DefaultCountry)
	if !ok {
		return "no default price"
	}
	s := money(def.Amount, def.Currency)
	if n := len(p.Prices) - 1; n > 0 {
		s += " (" + itoa(n) + " regional)"
	}
	return s
}

// contents summarises what a product gives.
func contents(p shop.Product) string {
	if p.Kind == shop.KindPack {
		s := i64(p.GrantAmount) + " " + p.GrantCurrency
		if p.BonusAmount > 0 {
			s += " + " + i64(p.BonusAmount) + " bonus"
		}
		return s
	}
	return linesText(p.Items)
}

func linesText(lines []inventory.Line) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = itoa(l.Quantity) + " × " + l.ItemID
	}
	return strings.Join(out, ", ")
}

// schedule says when a product is on sale.
func schedule(p shop.Product) string {
	switch {
	case p.StartsAt == nil && p.EndsAt == nil:
		return "always"
	case p.StartsAt == nil:
		return "until " + when(*p.EndsAt)
	case p.EndsAt == nil:
		return "from " + when(*p.StartsAt)
	}
	return when(*p.StartsAt) + " to " + when(*p.EndsAt)
}

func limitText(n int) string {
	if n <= 0 {
		return "none"
	}
	return itoa(n) + " per player"
}
