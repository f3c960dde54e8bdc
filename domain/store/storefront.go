package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/inventory"
)

// Country picks the player's country for the store: the one the request
// names, else the player's store setting, else the country the ingress read
// from the address (a header). The result is upper case, or "" when none is
// a country code.
func Country(request, setting, fromAddress string) string {
	for _, c := range []string{request, setting, fromAddress} {
		c = strings.ToUpper(strings.TrimSpace(c))
		if countryPattern.MatchString(c) {
			return c
		}
	}
	return ""
}

// Region is the price-table row a country pays: its own when the country is
// an enabled region, else the default.
func (s *Store) Region(ctx context.Context, country string) (string, error) {
	return region(ctx, s.conn, country)
}

func region(ctx context.Context, q sqlx.QueryerContext, country string) (string, error) {
	if country == "" {
		return DefaultCountry, nil
	}
	var found string
	err := sqlx.GetContext(ctx, q, &found, `SELECT country FROM store_regions WHERE country = $1`, country)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultCountry, nil
	}
	if err != nil {
		return "", fmt.Errorf("look up region: %w", err)
	}
	return found, nil
}

// StoreCountry returns the player's store country setting ("" when unset).
func (s *Store) StoreCountry(ctx context.Context, accountID int64) (string, error) {
	var c sql.NullString
	err := s.conn.GetContext(ctx, &c, `SELECT store_country FROM accounts WHERE id = $1`, accountID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("load store country: %w", err)
	}
	return c.String, nil
}

// SetStoreCountry changes the player's store country ("" clears it).
func (s *Store) SetStoreCountry(ctx context.Context, accountID int64, country string) error {
	var c *string
	if country != "" {
		if !countryPattern.MatchString(country) {
			return invalid("country", "must be an ISO 3166-1 alpha-2 code in capitals, like DE")
		}
		c = &country
	}
	_, err := s.conn.ExecContext(ctx, `UPDATE accounts SET store_country = $2 WHERE id = $1`, accountID, c)
	return err
}

// Listing is a product on sale to one player, priced for their region.
type Listing struct {
	ID          string           `json:"id"`
	Kind        string           `json:"kind"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Currency    string           `json:"currency"` // virtual currency code (offers) or ISO 4217 (packs)
	Amount      int64            `json:"amount"`
	Items       []inventory.Line `json:"items,omitempty"`
	Value       int64            `json:"value,omitempty"` // a bundle's parts bought one by one
	Grant       string           `json:"grant_currency,omitempty"`
	GrantAmount int64            `json:"grant_amount,omitempty"`
	BonusAmount int64            `json:"bonus_amount,omitempty"`
	EndsAt      *time.Time       `json:"ends_at,omitempty"`
	Remaining   *int             `json:"remaining,omitempty"` // purchases left under the limit
}

// Storefront lists what the player can buy now in country's region, in
// storefront order. Packs are left out while real-money payments are off.
func (s *Store) Storefront(ctx context.Context, accountID int64, country string) (string, []Listing, error) {
	reg, err := s.Region(ctx, country)
	if err != nil {
		return "", nil, err
	}
	products, err := s.Products(ctx, false)
	if err != nil {
		return "", nil, err
	}
	var bought []struct {
		ProductID string `db:"product_id"`
		Purchased int    `db:"purchased"`
	}
	if err := s.conn.SelectContext(ctx, &bought, `SELECT product_id, purchased FROM store_limits WHERE account_id = $1`, accountID); err != nil {
		return "", nil, fmt.Errorf("load purchase counts: %w", err)
	}
	count := map[string]int{}
	for _, b := range bought {
		count[b.ProductID] = b.Purchased
	}
	now := s.now()
	out := []Listing{}
	for _, p := range products {
		if !p.OnSale(now) {
			continue
		}
		l := Listing{ID: p.ID, Kind: p.Kind, Name: p.Name, Description: p.Description, EndsAt: p.EndsAt}
		if p.PurchaseLimit > 0 {
			left := max(p.PurchaseLimit-count[p.ID], 0)
			if left == 0 {
				continue
			}
			l.Remaining = &left
		}
		if p.Kind == KindOffer {
			l.Currency, l.Amount, l.Items = p.PriceCurrency, p.PriceAmount, p.Items
			if p.IsBundle() {
				if v, known, err := partsValue(ctx, s.conn, p); err != nil {
					return "", nil, err
				} else if known {
					l.Value = v
				}
			}
		} else {
			if s.payments == nil {
				continue
			}
			price, ok := p.PriceFor(reg)
			if !ok {
				continue
			}
			l.Currency, l.Amount = price.Currency, price.Amount
			l.Grant, l.GrantAmount, l.BonusAmount = p.GrantCurrency, p.GrantAmount, p.BonusAmount
		}
		out = append(out, l)
	}
	return reg, out, nil
}
