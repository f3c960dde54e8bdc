package store

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/ledger"
)

// Product kinds.
const (
	KindOffer = "offer" // items for a virtual currency
	KindPack  = "pack"  // premium currency for real money
)

// DefaultCountry is the price-table row for every country without its own.
const DefaultCountry = "*"

// MaxPrice bounds a real-money price in the currency's smallest unit
// (Stripe's own limit for most currencies is 99,999,999).
const MaxPrice = 99_999_999

// Product is an offer or a currency pack.
type Product struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Offers: the virtual price and the items sold (more than one line, or a
	// quantity above one, makes a bundle).
	PriceCurrency string           `json:"price_currency,omitempty"`
	PriceAmount   int64            `json:"price_amount,omitempty"`
	Items         []inventory.Line `json:"items,omitempty"`
	// Packs: the currency credited (amount plus bonus) and the regional
	// prices, one of them the default ("*").
	GrantCurrency string  `json:"grant_currency,omitempty"`
	GrantAmount   int64   `json:"grant_amount,omitempty"`
	BonusAmount   int64   `json:"bonus_amount,omitempty"`
	Prices        []Price `json:"prices,omitempty"`
	// StartsAt and EndsAt make a limited-time product; PurchaseLimit > 0
	// caps purchases per player.
	StartsAt      *time.Time `json:"starts_at,omitempty"`
	EndsAt        *time.Time `json:"ends_at,omitempty"`
	PurchaseLimit int        `json:"purchase_limit,omitempty"`
	Position      int        `json:"position"` // storefront order, ascending
	Retired       bool       `json:"retired"`
	Version       int        `json:"version"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Price is what a pack costs in one country.
type Price struct {
	Country  string `json:"country" db:"country"`   // ISO 3166-1 alpha-2, or "*"
	Currency string `json:"currency" db:"currency"` // ISO 4217, lower case
	Amount   int64  `json:"amount" db:"amount"`     // smallest unit (cents)
}

// Total is the currency a pack credits.
func (p Product) Total() int64 { return p.GrantAmount + p.BonusAmount }

// OnSale reports whether p may be bought at t.
func (p Product) OnSale(t time.Time) bool {
	return !p.Retired && (p.StartsAt == nil || !t.Before(*p.StartsAt)) && (p.EndsAt == nil || t.Before(*p.EndsAt))
}

// PriceFor returns the price for country: its own row, else the default.
func (p Product) PriceFor(country string) (Price, bool) {
	var def Price
	found := false
	for _, pr := range p.Prices {
		if pr.Country == country {
			return pr, true
		}
		if pr.Country == DefaultCountry {
			def, found = pr, true
		}
	}
	return def, found
}

// IsBundle reports whether an offer sells more than one item.
func (p Product) IsBundle() bool {
	return p.Kind == KindOffer && (len(p.Items) > 1 || (len(p.Items) == 1 && p.Items[0].Quantity > 1))
}

var (
	idPattern       = regexp.MustCompile(`^[a-z][a-z0-9_.-]{1,63}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyPattern = regexp.MustCompile(`^[a-z]{3}$`)
)

// Validate checks the fields that need nothing else; SaveProduct checks
// currencies, items, regions and bundle prices against the database.
func (p *Product) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case !idPattern.MatchString(p.ID):
		return invalid("id", "must be 2 to 64 characters: a-z first, then a-z, 0-9, '_', '.' or '-'")
	case p.Kind != KindOffer && p.Kind != KindPack:
		return invalid("kind", "must be offer or pack")
	case utf8.RuneCountInString(p.Name) < 1 || utf8.RuneCountInString(p.Name) > 80:
		return invalid("name", "must be 1 to 80 characters")
	case len(p.Description) > 1000:
		return invalid("description", "must be at most 1000 bytes")
	case p.StartsAt != nil && p.EndsAt != nil && !p.StartsAt.Before(*p.EndsAt):
		return invalid("ends_at", "must be after the start")
	case p.PurchaseLimit < 0 || p.PurchaseLimit > 1000:
		return invalid("purchase_limit", "must be 0 (none) to 1000")
	}
	if p.Kind == KindOffer {
		return p.validateOffer()
	}
	return p.validatePack()
}

func (p *Product) validateOffer() error {
	switch {
	case p.PriceCurrency == "":
		return invalid("price_currency", "is required for an offer")
	case p.PriceAmount <= 0 || p.PriceAmount > ledger.MaxAmount:
		return invalid("price_amount", "must be 1 to %d", int64(ledger.MaxAmount))
	case len(p.Items) == 0 || len(p.Items) > inventory.MaxLines:
		return invalid("items", "an offer sells 1 to %d items", inventory.MaxLines)
	case p.GrantCurrency != "" || p.GrantAmount != 0 || p.BonusAmount != 0 || len(p.Prices) != 0:
		return invalid("kind", "an offer has a virtual price and items, not a currency grant or real-money prices")
	}
	seen := map[string]bool{}
	for _, l := range p.Items {
		if l.ItemID == "" || l.Quantity < 1 || l.Quantity > catalog.MaxStackLimit {
			return invalid("items", "each item needs an id and a quantity of 1 to %d", catalog.MaxStackLimit)
		}
		if seen[l.ItemID] {
			return invalid("items", "%s is listed twice", l.ItemID)
		}
		seen[l.ItemID] = true
	}
	return nil
}

func (p *Product) validatePack() error {
	switch {
	case p.GrantCurrency == "":
		return invalid("grant_currency", "is required for a pack")
	case p.GrantAmount <= 0 || p.GrantAmount > ledger.MaxAmount:
		return invalid("grant_amount", "must be 1 to %d", int64(ledger.MaxAmount))
	case p.BonusAmount < 0 || p.BonusAmount > ledger.MaxAmount-p.GrantAmount:
		return invalid("bonus_amount", "must be 0 or more, and amount plus bonus at most %d", int64(ledger.MaxAmount))
	case p.PriceCurrency != "" || p.PriceAmount != 0 || len(p.Items) != 0:
		return invalid("kind", "a pack has a currency grant and real-money prices, not a virtual price or items")
	}
	seen := map[string]bool{}
	for _, pr := range p.Prices {
		switch {
		case pr.Country != DefaultCountry && !countryPattern.MatchString(pr.Country):
			return invalid("prices", "%q is not a country code (two capital letters) or * for the default", pr.Country)
		case seen[pr.Country]:
			return invalid("prices", "%s is priced twice", pr.Country)
		case !currencyPattern.MatchString(pr.Currency):
			return invalid("prices", "%s: %q is not an ISO 4217 currency code in lower case", pr.Country, pr.Currency)
		case pr.Amount <= 0:
			return invalid("prices", "%s: the price must be above zero", pr.Country)
		case pr.Amount > MaxPrice:
			return invalid("prices", "%s: the price must be at most %d", pr.Country, MaxPrice)
		}
		seen[pr.Country] = true
	}
	if !seen[DefaultCountry] {
		return invalid("prices", "a default price (country *) is required")
	}
	slices.SortFunc(p.Prices, func(a, b Price) int { return strings.Compare(a.Country, b.Country) })
	return nil
}

// productRow is a product as stored.
type productRow struct {
	ID            string     `db:"id"`
	Kind          string     `db:"kind"`
	Name          string     `db:"name"`
	Description   string     `db:"description"`
	PriceCurrency *string    `db:"price_currency"`
	PriceAmount   *int64     `db:"price_amount"`
	Items         []byte     `db:"items"`
	GrantCurrency *string    `db:"grant_currency"`
	GrantAmount   *int64     `db:"grant_amount"`
	BonusAmount   int64      `db:"bonus_amount"`
	StartsAt      *time.Time `db:"starts_at"`
	EndsAt        *time.Time `db:"ends_at"`
	PurchaseLimit int        `db:"purchase_limit"`
	Position      int        `db:"position"`
	Retired       bool       `db:"retired"`
	Version       int        `db:"version"`
	UpdatedAt     time.Time  `db:"updated_at"`
}

const productCols = `id, kind, name, description, price_currency, price_amount, items, grant_currency, grant_amount,
	bonus_amount, starts_at, ends_at, purchase_limit, position, retired, version, updated_at`

func (r productRow) product() (Product, error) {
	p := Product{ID: r.ID, Kind: r.Kind, Name: r.Name, Description: r.Description, BonusAmount: r.BonusAmount,
		StartsAt: r.StartsAt, EndsAt: r.EndsAt, PurchaseLimit: r.PurchaseLimit, Position: r.Position,
		Retired: r.Retired, Version: r.Version, UpdatedAt: r.UpdatedAt}
	if r.PriceCurrency != nil {
		p.PriceCurrency = *r.PriceCurrency
	}
	if r.PriceAmount != nil {
		p.PriceAmount = *r.PriceAmount
	}
	if r.GrantCurrency != nil {
		p.GrantCurrency = *r.GrantCurrency
	}
	if r.GrantAmount != nil {
		p.GrantAmount = *r.GrantAmount
	}
	if err := json.Unmarshal(r.Items, &p.Items); err != nil {
		return p, fmt.Errorf("product %s: decode items: %w", r.ID, err)
	}
	if len(p.Items) == 0 {
		p.Items = nil
	}
	return p, nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}
