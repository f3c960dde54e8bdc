package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/catalog"
	"github.com/musterhq/muster/domain/db"
)

// Products returns every product, retired ones too when asked, in
// storefront order.
func (s *Store) Products(ctx context.Context, includeRetired bool) ([]Product, error) {
	var rows []productRow
	q := `SELECT ` + productCols + ` FROM store_products WHERE $1 OR NOT retired ORDER BY position, id`
	if err := s.conn.SelectContext(ctx, &rows, q, includeRetired); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return withPrices(ctx, s.conn, rows)
}

// Product returns one product with its prices.
func (s *Store) Product(ctx context.Context, id string) (Product, error) {
	return getProduct(ctx, s.conn, id)
}

func getProduct(ctx context.Context, q sqlx.QueryerContext, id string) (Product, error) {
	var row productRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+productCols+` FROM store_products WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("load product %s: %w", id, err)
	}
	out, err := withPrices(ctx, q, []productRow{row})
	if err != nil {
		return Product{}, err
	}
	return out[0], nil
}

func withPrices(ctx context.Context, q sqlx.QueryerContext, rows []productRow) ([]Product, error) {
	out := make([]Product, len(rows))
	var packs []string
	index := map[string]int{}
	for i, r := range rows {
		p, err := r.product()
		if err != nil {
			return nil, err
		}
		out[i] = p
		if p.Kind == KindPack {
			packs = append(packs, p.ID)
			index[p.ID] = i
		}
	}
	if len(packs) == 0 {
		return out, nil
	}
	var prices []struct {
		ProductID string `db:"product_id"`
		Price
	}
	const pq1 = `SELECT product_id, country, currency, amount FROM store_prices WHERE product_id = ANY($1) ORDER BY product_id, country`
	if err := sqlx.SelectContext(ctx, q, &prices, pq1, pq.StringArray(packs)); err != nil {
		return nil, fmt.Errorf("load prices: %w", err)
	}
	for _, pr := range prices {
		i := index[pr.ProductID]
		out[i].Prices = append(out[i].Prices, pr.Price)
	}
	return out, nil
}

// SaveProduct creates (e.Expected 0) or updates a product. Beyond Validate
// it checks that the currencies and items exist and are not retired, that a
// pack is priced in every enabled region, and that a bundle costs less than
// its parts when each part is sold on its own in the same currency. The kind
// is fixed once created.
func (s *Store) SaveProduct(ctx context.Context, p Product, e catalog.Edit) (Product, error) {
	if err := p.Validate(); err != nil {
		return p, err
	}
	var saved Product
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var before *Product
		if e.Expected != 0 {
			var version int
			err := catalog.LockVersion(ctx, tx, &version, `SELECT version FROM store_products WHERE id = $1 FOR UPDATE`, p.ID, e.Expected, func() int { return version })
			if errors.Is(err, catalog.ErrNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			cur, err := getProduct(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if cur.Kind != p.Kind {
				return invalid("kind", "cannot change once created")
			}
			before = &cur
		}
		if err := s.checkProduct(ctx, tx, p); err != nil {
			return err
		}
		items, err := json.Marshal(p.Items)
		if err != nil {
			return err
		}
		if p.Items == nil {
			items = []byte("[]")
		}
		args := []any{p.ID, p.Kind, p.Name, p.Description, nullString(p.PriceCurrency), nullInt(p.PriceAmount), items,
			nullString(p.GrantCurrency), nullInt(p.GrantAmount), p.BonusAmount, p.StartsAt, p.EndsAt, p.PurchaseLimit, p.Position, p.Retired}
		if before == nil {
			const q = `INSERT INTO store_products (id, kind, name, description, price_currency, price_amount, items, grant_currency,
				grant_amount, bonus_amount, starts_at, ends_at, purchase_limit, position, retired)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING`
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return catalog.ErrExists
			}
		} else {
			const q = `UPDATE store_products SET kind = $2, name = $3, description = $4, price_currency = $5, price_amount = $6,
				items = $7, grant_currency = $8, grant_amount = $9, bonus_amount = $10, starts_at = $11, ends_at = $12,
				purchase_limit = $13, position = $14, retired = $15, version = version + 1, updated_at = now() WHERE id = $1`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM store_prices WHERE product_id = $1`, p.ID); err != nil {
			return err
		}
		for _, pr := range p.Prices {
			const q = `INSERT INTO store_prices (product_id, country, currency, amount) VALUES ($1, $2, $3, $4)`
			if _, err := tx.ExecContext(ctx, q, p.ID, pr.Country, pr.Currency, pr.Amount); err != nil {
				return err
			}
		}
		var err2 error
		if saved, err2 = getProduct(ctx, tx, p.ID); err2 != nil {
			return err2
		}
		if before == nil {
			return catalog.Record(ctx, tx, "product", saved.ID, saved.Version, e, nil, saved)
		}
		return catalog.Record(ctx, tx, "product", saved.ID, saved.Version, e, *before, saved)
	})
	if err != nil {
		return p, fmt.Errorf("save product %s: %w", p.ID, err)
	}
	return saved, nil
}

// checkProduct checks p against the catalog, the regions and the offers.
func (s *Store) checkProduct(ctx context.Context, tx *sqlx.Tx, p Product) error {
	currency := p.PriceCurrency
	field := "price_currency"
	if p.Kind == KindPack {
		currency, field = p.GrantCurrency, "grant_currency"
	}
	var retired bool
	err := tx.GetContext(ctx, &retired, `SELECT retired FROM currencies WHERE code = $1`, currency)
	if errors.Is(err, sql.ErrNoRows) {
		return invalid(field, "unknown currency %q", currency)
	}
	if err != nil {
		return err
	}
	if retired && !p.Retired {
		return invalid(field, "currency %s is retired", currency)
	}
	if p.Kind == KindPack {
		if p.Retired {
			return nil
		}
		var missing []string
		const q = `SELECT country FROM store_regions WHERE country <> ALL($1) ORDER BY country`
		if err := tx.SelectContext(ctx, &missing, q, pq.StringArray(countries(p.Prices))); err != nil {
			return err
		}
		if len(missing) > 0 {
			return invalid("prices", "no price for enabled region %s", strings.Join(missing, ", "))
		}
		return nil
	}
	ids := make([]string, len(p.Items))
	for i, l := range p.Items {
		ids[i] = l.ItemID
	}
	var known []struct {
		ID      string `db:"id"`
		Retired bool   `db:"retired"`
	}
	if err := tx.SelectContext(ctx, &known, `SELECT id, retired FROM catalog_items WHERE id = ANY($1)`, pq.StringArray(ids)); err != nil {
		return err
	}
	state := map[string]bool{}
	for _, k := range known {
		state[k.ID] = k.Retired
	}
	for _, id := range ids {
		r, ok := state[id]
		if !ok {
			return invalid("items", "unknown item %q", id)
		}
		if r && !p.Retired {
			return invalid("items", "item %s is retired", id)
		}
	}
	if !p.IsBundle() || p.Retired {
		return nil
	}
	value, known2, err := partsValue(ctx, tx, p)
	if err != nil || !known2 {
		return err
	}
	if p.PriceAmount >= value {
		return invalid("price_amount", "a bundle must cost less than its parts sold on their own (%d %s)", value, p.PriceCurrency)
	}
	return nil
}

// partsValue is what a bundle's items cost bought one by one: the cheapest
// single-item offer of each in the bundle's currency. known is false when a
// part is not sold on its own.
func partsValue(ctx context.Context, q sqlx.QueryerContext, p Product) (value int64, known bool, err error) {
	var singles []struct {
		Item  string `db:"item"`
		Price int64  `db:"price"`
	}
	const sq = `SELECT items->0->>'item_id' AS item, min(price_amount) AS price FROM store_products
		WHERE kind = 'offer' AND NOT retired AND id <> $1 AND price_currency = $2
		  AND jsonb_array_length(items) = 1 AND (items->0->>'quantity')::int = 1
		GROUP BY 1`
	if err := sqlx.SelectContext(ctx, q, &singles, sq, p.ID, p.PriceCurrency); err != nil {
		return 0, false, fmt.Errorf("load single offers: %w", err)
	}
	price := map[string]int64{}
	for _, s := range singles {
		price[s.Item] = s.Price
	}
	for _, l := range p.Items {
		pr, ok := price[l.ItemID]
		if !ok {
			return 0, false, nil
		}
		value += pr * int64(l.Quantity)
	}
	return value, true, nil
}

func countries(prices []Price) []string {
	out := make([]string, len(prices))
	for i, p := range prices {
		out[i] = p.Country
	}
	return out
}

// Region is a country the store sells in, with its own prices.
type Region struct {
	Country   string    `db:"country" json:"country"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Regions returns the enabled regions by country code.
func (s *Store) Regions(ctx context.Context) ([]Region, error) {
	var out []Region
	if err := s.conn.SelectContext(ctx, &out, `SELECT country, name, created_at FROM store_regions ORDER BY country`); err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	return out, nil
}

// EnableRegion adds a region. Every pack on sale must already have a price
// for it (add them first: prices for a country not yet enabled are kept and
// unused). e.Also runs in the transaction with nil and the region.
func (s *Store) EnableRegion(ctx context.Context, r Region, e catalog.Edit) error {
	r.Name = strings.TrimSpace(r.Name)
	if !countryPattern.MatchString(r.Country) {
		return invalid("country", "must be an ISO 3166-1 alpha-2 code in capitals, like DE")
	}
	if n := utf8.RuneCountInString(r.Name); n < 1 || n > 80 {
		return invalid("name", "must be 1 to 80 characters")
	}
	return db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var unpriced []string
		const q = `SELECT p.id FROM store_products p WHERE p.kind = 'pack' AND NOT p.retired
			AND NOT EXISTS (SELECT 1 FROM store_prices x WHERE x.product_id = p.id AND x.country = $1) ORDER BY p.id`
		if err := tx.SelectContext(ctx, &unpriced, q, r.Country); err != nil {
			return err
		}
		if len(unpriced) > 0 {
			return invalid("country", "price %s first for: %s", r.Country, strings.Join(unpriced, ", "))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO store_regions (country, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.Country, r.Name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.ErrExists
		}
		if e.Also != nil {
			return e.Also(tx, nil, r)
		}
		return nil
	})
}

// DisableRegion removes a region: its players then pay the default price.
func (s *Store) DisableRegion(ctx context.Context, country string, e catalog.Edit) error {
	return db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var r Region
		err := tx.GetContext(ctx, &r, `DELETE FROM store_regions WHERE country = $1 RETURNING country, name, created_at`, country)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if e.Also != nil {
			return e.Also(tx, r, nil)
		}
		return nil
	})
}
