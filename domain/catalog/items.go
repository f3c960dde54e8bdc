package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/musterhq/muster/domain/db"
)

const itemCols = `id, name, kind, rarity, tags, max_stack, lifetime_seconds, ends_at, tradable, giftable,
	craft_value, disenchant_currency, disenchant_yield, version, retired, updated_at`

// itemRow is an item as stored: tags are a PostgreSQL array.
type itemRow struct {
	Item
	Tags pq.StringArray `db:"tags"`
}

func (r itemRow) item() Item {
	it := r.Item
	it.Tags = []string(r.Tags)
	if it.Tags == nil {
		it.Tags = []string{}
	}
	return it
}

// Filter narrows an item list.
type Filter struct {
	Kind           string
	Query          string // a fragment of the id or name
	IncludeRetired bool
	After          string // keyset paging by id
	Limit          int    // default and cap 500
}

// Items returns item definitions by id.
func (s *Store) Items(ctx context.Context, f Filter) ([]Item, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	const q = `SELECT ` + itemCols + ` FROM catalog_items
		WHERE ($1 = '' OR kind = $1) AND ($2 OR NOT retired) AND id > $3
		  AND ($4 = '' OR id LIKE '%' || $4 || '%' OR lower(name) LIKE '%' || $4 || '%')
		ORDER BY id LIMIT $5`
	var rows []itemRow
	query := strings.ToLower(strings.NewReplacer(`\`, ``, `%`, ``, `_`, ``).Replace(strings.TrimSpace(f.Query)))
	if err := s.conn.SelectContext(ctx, &rows, q, f.Kind, f.IncludeRetired, f.After, query, f.Limit); err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = r.item()
	}
	return out, nil
}

// Item returns one item definition.
func (s *Store) Item(ctx context.Context, id string) (Item, error) {
	var r itemRow
	err := s.conn.GetContext(ctx, &r, `SELECT `+itemCols+` FROM catalog_items WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("load item %s: %w", id, err)
	}
	return r.item(), nil
}

// Names returns the names of the items with the given ids, retired ones
// included; ids that are not defined are left out.
func (s *Store) Names(ctx context.Context, ids []string) (map[string]string, error) {
	var rows []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := s.conn.SelectContext(ctx, &rows, `SELECT id, name FROM catalog_items WHERE id = ANY($1)`, pq.StringArray(ids)); err != nil {
		return nil, fmt.Errorf("load item names: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// SaveItem creates or updates an item definition. Its kind is fixed once
// created, since players' inventories are filtered by it.
func (s *Store) SaveItem(ctx context.Context, it Item, e Edit) (Item, error) {
	if it.Tags == nil {
		it.Tags = []string{}
	}
	if err := it.Validate(); err != nil {
		return it, err
	}
	var saved itemRow
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var before *Item
		args := []any{it.ID, it.Name, it.Kind, it.Rarity, pq.StringArray(it.Tags), it.MaxStack, it.LifetimeSeconds, it.EndsAt,
			it.Tradable, it.Giftable, it.CraftValue, it.DisenchantCurrency, it.DisenchantYield, it.Retired}
		if e.Expected == 0 {
			const q = `INSERT INTO catalog_items (id, name, kind, rarity, tags, max_stack, lifetime_seconds, ends_at,
					tradable, giftable, craft_value, disenchant_currency, disenchant_yield, retired)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (id) DO NOTHING RETURNING ` + itemCols
			if err := tx.GetContext(ctx, &saved, q, args...); errors.Is(err, sql.ErrNoRows) {
				return ErrExists
			} else if err != nil {
				return mapFK(err, fmt.Errorf("%w: disenchant currency", ErrUnknownCurrency))
			}
		} else {
			var cur itemRow
			if err := LockVersion(ctx, tx, &cur, `SELECT `+itemCols+` FROM catalog_items WHERE id = $1 FOR UPDATE`, it.ID, e.Expected, func() int { return cur.Version }); err != nil {
				return err
			}
			if cur.Kind != it.Kind {
				return invalid("kind", "cannot change once created")
			}
			b := cur.item()
			before = &b
			const q = `UPDATE catalog_items SET name = $2, rarity = $4, tags = $5, max_stack = $6, lifetime_seconds = $7,
					ends_at = $8, tradable = $9, giftable = $10, craft_value = $11, disenchant_currency = $12,
					disenchant_yield = $13, retired = $14, version = version + 1, updated_at = now()
				WHERE id = $1 AND kind = $3 RETURNING ` + itemCols
			if err := tx.GetContext(ctx, &saved, q, args...); err != nil {
				return mapFK(err, fmt.Errorf("%w: disenchant currency", ErrUnknownCurrency))
			}
		}
		return Record(ctx, tx, "item", saved.ID, saved.Version, e, before, saved.item())
	})
	if err != nil {
		return it, fmt.Errorf("save item %s: %w", it.ID, err)
	}
	return saved.item(), nil
}

// DeleteItem removes a definition that nobody owns and no recipe uses;
// otherwise it answers ErrInUse, and the item should be retired instead.
func (s *Store) DeleteItem(ctx context.Context, id string, e Edit) error {
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var cur itemRow
		if err := LockVersion(ctx, tx, &cur, `SELECT `+itemCols+` FROM catalog_items WHERE id = $1 FOR UPDATE`, id, e.Expected, func() int { return cur.Version }); err != nil {
			return err
		}
		var used bool
		const inRecipe = `SELECT EXISTS (SELECT 1 FROM recipes WHERE inputs @> jsonb_build_array(jsonb_build_object('item_id', $1::text)))`
		if err := tx.GetContext(ctx, &used, inRecipe, id); err != nil {
			return err
		}
		if used {
			return ErrInUse
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM catalog_items WHERE id = $1`, id); err != nil {
			return mapFK(err, ErrInUse)
		}
		if e.Also != nil {
			return e.Also(tx, cur.item(), nil)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete item %s: %w", id, err)
	}
	return nil
}

const recipeCols = `id, output_item, output_quantity, inputs, cost_currency, cost_amount, version, retired, updated_at`

type recipeRow struct {
	Recipe
	Inputs []byte `db:"inputs"`
}

func (r recipeRow) recipe() (Recipe, error) {
	rec := r.Recipe
	if err := json.Unmarshal(r.Inputs, &rec.Inputs); err != nil {
		return rec, fmt.Errorf("recipe %s inputs: %w", r.ID, err)
	}
	return rec, nil
}

// Recipes returns every recipe by id, retired ones only when asked.
func (s *Store) Recipes(ctx context.Context, includeRetired bool) ([]Recipe, error) {
	var rows []recipeRow
	if err := s.conn.SelectContext(ctx, &rows, `SELECT `+recipeCols+` FROM recipes WHERE $1 OR NOT retired ORDER BY id`, includeRetired); err != nil {
		return nil, fmt.Errorf("list recipes: %w", err)
	}
	out := make([]Recipe, 0, len(rows))
	for _, r := range rows {
		rec, err := r.recipe()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// Recipe returns one recipe.
func (s *Store) Recipe(ctx context.Context, id string) (Recipe, error) {
	return getRecipe(ctx, s.conn, id, "")
}

func getRecipe(ctx context.Context, q sqlx.QueryerContext, id, lock string) (Recipe, error) {
	var r recipeRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+recipeCols+` FROM recipes WHERE id = $1`+lock, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Recipe{}, ErrNotFound
	}
	if err != nil {
		return Recipe{}, fmt.Errorf("load recipe %s: %w", id, err)
	}
	return r.recipe()
}

// RecipeTx reads a recipe inside tx, for a craft that must see the recipe it
// pays for.
func RecipeTx(ctx context.Context, tx *sqlx.Tx, id string) (Recipe, error) {
	return getRecipe(ctx, tx, id, " FOR SHARE")
}

// ItemTx reads an item definition inside tx.
func ItemTx(ctx context.Context, tx *sqlx.Tx, id string) (Item, error) {
	var r itemRow
	err := tx.GetContext(ctx, &r, `SELECT `+itemCols+` FROM catalog_items WHERE id = $1 FOR SHARE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("load item %s: %w", id, err)
	}
	return r.item(), nil
}

// SaveRecipe creates or updates a recipe. Its output and inputs must be
// defined items and its cost a defined currency.
func (s *Store) SaveRecipe(ctx context.Context, r Recipe, e Edit) (Recipe, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	inputs, err := json.Marshal(r.Inputs)
	if err != nil {
		return r, err
	}
	var saved Recipe
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		for _, in := range r.Inputs {
			if _, err := ItemTx(ctx, tx, in.ItemID); errors.Is(err, ErrNotFound) {
				return invalid("inputs", "%s is not a catalog item", in.ItemID)
			} else if err != nil {
				return err
			}
		}
		var before *Recipe
		var row recipeRow
		args := []any{r.ID, r.OutputItem, r.OutputQuantity, inputs, r.CostCurrency, r.CostAmount, r.Retired}
		if e.Expected == 0 {
			const q = `INSERT INTO recipes (id, output_item, output_quantity, inputs, cost_currency, cost_amount, retired)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING ` + recipeCols
			if err := tx.GetContext(ctx, &row, q, args...); errors.Is(err, sql.ErrNoRows) {
				return ErrExists
			} else if err != nil {
				return mapFK(err, invalid("output_item", "the output or the cost currency is not in the catalog"))
			}
		} else {
			cur, err := getRecipe(ctx, tx, r.ID, " FOR UPDATE")
			if err != nil {
				return err
			}
			if cur.Version != e.Expected {
				return ErrStaleVersion
			}
			before = &cur
			const q = `UPDATE recipes SET output_item = $2, output_quantity = $3, inputs = $4, cost_currency = $5,
					cost_amount = $6, retired = $7, version = version + 1, updated_at = now()
				WHERE id = $1 RETURNING ` + recipeCols
			if err := tx.GetContext(ctx, &row, q, args...); err != nil {
				return mapFK(err, invalid("output_item", "the output or the cost currency is not in the catalog"))
			}
		}
		var err error
		if saved, err = row.recipe(); err != nil {
			return err
		}
		return Record(ctx, tx, "recipe", saved.ID, saved.Version, e, before, saved)
	})
	if err != nil {
		return r, fmt.Errorf("save recipe %s: %w", r.ID, err)
	}
	return saved, nil
}
