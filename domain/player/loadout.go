package player

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/db"
)

// Loadout is one of a player's named loadouts.
type Loadout struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Slots     map[string]string `json:"slots"` // slot id -> item id
	Version   int               `json:"version"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// LoadoutUpdate creates or replaces a loadout. Version is the version it
// was made from: 0 to create one.
type LoadoutUpdate struct {
	Version int
	Name    string
	Slots   map[string]string
}

var loadoutIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidLoadoutID reports whether id may name a loadout: 1 to 32 lower-case
// letters, digits, '_' or '-', starting with a letter or digit.
func ValidLoadoutID(id string) bool { return loadoutIDPattern.MatchString(id) }

// maxNameRunes bounds a loadout's name.
const maxNameRunes = 32

// cleanName trims a loadout name and checks it: 1 to 32 characters, no
// control characters.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxNameRunes || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: a loadout name is 1 to %d characters, without control characters", ErrInvalid, maxNameRunes)
	}
	return name, nil
}

type loadoutRow struct {
	ID        string    `db:"loadout_id"`
	Name      string    `db:"name"`
	Slots     []byte    `db:"slots"`
	Version   int       `db:"version"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r loadoutRow) loadout() (Loadout, error) {
	l := Loadout{ID: r.ID, Name: r.Name, Version: r.Version, UpdatedAt: r.UpdatedAt.UTC(), Slots: map[string]string{}}
	if err := json.Unmarshal(r.Slots, &l.Slots); err != nil {
		return Loadout{}, fmt.Errorf("decode loadout %s: %w", r.ID, err)
	}
	return l, nil
}

const loadoutCols = `loadout_id, name, slots, version, updated_at`

func loadLoadouts(ctx context.Context, q sqlx.QueryerContext, accountID int64) ([]Loadout, error) {
	var rows []loadoutRow
	const sel = `SELECT ` + loadoutCols + ` FROM player_loadouts WHERE account_id = $1 ORDER BY loadout_id`
	if err := sqlx.SelectContext(ctx, q, &rows, sel, accountID); err != nil {
		return nil, fmt.Errorf("load loadouts: %w", err)
	}
	out := make([]Loadout, 0, len(rows))
	for _, r := range rows {
		l, err := r.loadout()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// loadLoadout reads one loadout; found is false when there is none.
func loadLoadout(ctx context.Context, q sqlx.QueryerContext, accountID int64, id string) (l Loadout, found bool, err error) {
	var r loadoutRow
	const sel = `SELECT ` + loadoutCols + ` FROM player_loadouts WHERE account_id = $1 AND loadout_id = $2`
	err = sqlx.GetContext(ctx, q, &r, sel, accountID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Loadout{}, false, nil
	}
	if err != nil {
		return Loadout{}, false, fmt.Errorf("load loadout: %w", err)
	}
	l, err = r.loadout()
	return l, err == nil, err
}

// Loadouts returns a player's loadouts by id, from the cache when it holds
// them. They were checked when saved: an item the player has lost since
// (traded, expired, refunded) stays in the loadout until it is saved again.
func (s *Store) Loadouts(ctx context.Context, accountID int64) ([]Loadout, error) {
	key := loadoutsKey(accountID)
	var out []Loadout
	if s.cache.get(ctx, key, &out) {
		return out, nil
	}
	began := time.Now()
	out, err := loadLoadouts(ctx, s.conn, accountID)
	if err != nil {
		return nil, err
	}
	s.cache.fill(ctx, key, out, began)
	return out, nil
}

// SaveLoadout creates the loadout id (u.Version 0) or replaces it if it is
// still at u.Version; otherwise a *StaleError with the current loadout
// (nil when it was deleted). The slots are checked against the published
// loadout rules and the player's inventory; a new loadout beyond the
// rules' max_loadouts is ErrTooManyLoadouts.
func (s *Store) SaveLoadout(ctx context.Context, accountID int64, id string, u LoadoutUpdate) (Loadout, error) {
	if !ValidLoadoutID(id) {
		return Loadout{}, fmt.Errorf("%w: a loadout id is 1 to 32 lower-case letters, digits, '_' or '-'", ErrInvalid)
	}
	name, err := cleanName(u.Name)
	if err != nil {
		return Loadout{}, err
	}
	var out Loadout
	err = db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if _, err := lockPlayer(ctx, tx, accountID); err != nil {
			return err
		}
		cur, found, err := loadLoadout(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		switch {
		case found && cur.Version != u.Version:
			return &StaleError{Current: cur}
		case !found && u.Version != 0:
			return &StaleError{Current: nil}
		}
		rules, err := loadLoadoutRules(ctx, tx)
		if err != nil {
			return err
		}
		if !found {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM player_loadouts WHERE account_id = $1`, accountID); err != nil {
				return fmt.Errorf("count loadouts: %w", err)
			}
			if n >= rules.MaxLoadouts {
				return fmt.Errorf("%w (%d)", ErrTooManyLoadouts, rules.MaxLoadouts)
			}
		}
		slots, err := s.equip(ctx, tx, accountID, rules.Slots, u.Slots)
		if err != nil {
			return err
		}
		body, err := json.Marshal(slots)
		if err != nil {
			return err
		}
		const upsert = `INSERT INTO player_loadouts AS l (account_id, loadout_id, name, slots, version) VALUES ($1, $2, $3, $4, 1)
			ON CONFLICT (account_id, loadout_id) DO UPDATE SET name = EXCLUDED.name, slots = EXCLUDED.slots,
				version = l.version + 1, updated_at = now()
			RETURNING ` + loadoutCols
		var r loadoutRow
		if err := tx.GetContext(ctx, &r, upsert, accountID, id, name, body); err != nil {
			return fmt.Errorf("save loadout: %w", err)
		}
		out, err = r.loadout()
		return err
	})
	if err != nil {
		return Loadout{}, err
	}
	s.cache.forget(ctx, loadoutsKey(accountID))
	return out, nil
}

// DeleteLoadout deletes the loadout id: ErrLoadoutNotFound when there is
// none. With a version above 0 it deletes only that version, and answers
// a *StaleError with the current loadout otherwise.
func (s *Store) DeleteLoadout(ctx context.Context, accountID int64, id string, version int) error {
	if !ValidLoadoutID(id) {
		return ErrLoadoutNotFound
	}
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		if _, err := lockPlayer(ctx, tx, accountID); err != nil {
			return err
		}
		cur, found, err := loadLoadout(ctx, tx, accountID, id)
		switch {
		case err != nil:
			return err
		case !found:
			return ErrLoadoutNotFound
		case version > 0 && cur.Version != version:
			return &StaleError{Current: cur}
		}
		const del = `DELETE FROM player_loadouts WHERE account_id = $1 AND loadout_id = $2`
		if _, err := tx.ExecContext(ctx, del, accountID, id); err != nil {
			return fmt.Errorf("delete loadout: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.cache.forget(ctx, loadoutsKey(accountID))
	return nil
}
