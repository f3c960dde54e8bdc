package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Store reads and edits the catalog in PostgreSQL.
type Store struct {
	conn *sqlx.DB
}

// NewStore returns a Store over conn.
func NewStore(conn *sqlx.DB) *Store { return &Store{conn: conn} }

// Also runs inside an edit's transaction with the entry as it was (nil when
// created) and as saved; the console writes its audit row there.
type Also func(tx *sqlx.Tx, before, after any) error

// Edit says who edits and from which version: Expected 0 creates the entry,
// any other value must equal the stored version.
type Edit struct {
	Expected int
	Editor   string
	Also     Also
}

const currencyCols = `code, name, kind, version, retired, updated_at`

// Currencies returns every currency, retired ones included, by code.
func (s *Store) Currencies(ctx context.Context) ([]Currency, error) {
	var out []Currency
	if err := s.conn.SelectContext(ctx, &out, `SELECT `+currencyCols+` FROM currencies ORDER BY code`); err != nil {
		return nil, fmt.Errorf("list currencies: %w", err)
	}
	return out, nil
}

// Currency returns one currency.
func (s *Store) Currency(ctx context.Context, code string) (Currency, error) {
	var c Currency
	err := s.conn.GetContext(ctx, &c, `SELECT `+currencyCols+` FROM currencies WHERE code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// SaveCurrency creates or updates a currency. Its kind is fixed once created:
// turning a soft currency premium (or back) would change what players paid for.
func (s *Store) SaveCurrency(ctx context.Context, c Currency, e Edit) (Currency, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	var saved Currency
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		var before *Currency
		if e.Expected == 0 {
			const q = `INSERT INTO currencies (code, name, kind, retired) VALUES ($1, $2, $3, $4)
				ON CONFLICT (code) DO NOTHING RETURNING ` + currencyCols
			if err := tx.GetContext(ctx, &saved, q, c.Code, c.Name, c.Kind, c.Retired); errors.Is(err, sql.ErrNoRows) {
				return ErrExists
			} else if err != nil {
				return err
			}
		} else {
			var cur Currency
			if err := LockVersion(ctx, tx, &cur, `SELECT `+currencyCols+` FROM currencies WHERE code = $1 FOR UPDATE`, c.Code, e.Expected, func() int { return cur.Version }); err != nil {
				return err
			}
			if cur.Kind != c.Kind {
				return invalid("kind", "cannot change once created")
			}
			before = &cur
			const q = `UPDATE currencies SET name = $2, retired = $3, version = version + 1, updated_at = now()
				WHERE code = $1 RETURNING ` + currencyCols
			if err := tx.GetContext(ctx, &saved, q, c.Code, c.Name, c.Retired); err != nil {
				return err
			}
		}
		return Record(ctx, tx, "currency", saved.Code, saved.Version, e, before, saved)
	})
	if err != nil {
		return c, fmt.Errorf("save currency %s: %w", c.Code, err)
	}
	return saved, nil
}

// LockVersion loads the row of q with FOR UPDATE into dest and checks its
// version against expected: ErrNotFound or ErrStaleVersion. Content kept
// elsewhere (the store's products) is edited the same way.
func LockVersion(ctx context.Context, tx *sqlx.Tx, dest any, q, id string, expected int, version func() int) error {
	if err := tx.GetContext(ctx, dest, q, id); errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	if version() != expected {
		return ErrStaleVersion
	}
	return nil
}

// Record keeps the saved document as revision version of kind/id and runs
// the edit's Also, inside the edit's transaction.
func Record(ctx context.Context, tx *sqlx.Tx, kind, id string, version int, e Edit, before, after any) error {
	doc, err := json.Marshal(after)
	if err != nil {
		return err
	}
	const q = `INSERT INTO catalog_revisions (kind, id, version, document, edited_by) VALUES ($1, $2, $3, $4, $5)`
	if _, err := tx.ExecContext(ctx, q, kind, id, version, doc, e.Editor); err != nil {
		return fmt.Errorf("record revision: %w", err)
	}
	if e.Also != nil {
		if before == nil {
			return e.Also(tx, nil, after)
		}
		return e.Also(tx, before, after)
	}
	return nil
}

// Revision is a saved version of a catalog entry.
type Revision struct {
	Version  int             `db:"version"`
	Document json.RawMessage `db:"document"`
	EditedBy string          `db:"edited_by"`
	EditedAt time.Time       `db:"edited_at"`
}

// Revisions returns the saved versions of an entry, newest first. kind is
// "currency", "item", "recipe" or "product".
func (s *Store) Revisions(ctx context.Context, kind, id string) ([]Revision, error) {
	var out []Revision
	const q = `SELECT version, document, edited_by, edited_at FROM catalog_revisions WHERE kind = $1 AND id = $2 ORDER BY version DESC LIMIT 50`
	if err := s.conn.SelectContext(ctx, &out, q, kind, id); err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	return out, nil
}

// mapFK turns a foreign-key violation into the domain error for it.
func mapFK(err error, fk error) error {
	if db.IsForeignKeyViolation(err) {
		return fk
	}
	return err
}
