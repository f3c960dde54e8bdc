package player

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

// Profile is what other players see of a player, and its version. Display
// name, level and prestige belong to other packages and are read with it;
// a player with no progression yet is level 1, prestige 0.
type Profile struct {
	AccountID   int64             `json:"account_id"`
	PlayerID    string            `json:"player_id"` // the public id
	DisplayName string            `json:"display_name"`
	Level       int               `json:"level"`
	Prestige    int               `json:"prestige"`
	Cosmetics   map[string]string `json:"cosmetics"` // profile slot -> item id
	Version     int               `json:"version"`   // 0: never written
}

// ProfileUpdate replaces a profile's cosmetics; an absent or empty slot is
// cleared. Version is the version the change was made from (0 for a
// profile never written).
type ProfileUpdate struct {
	Version   int
	Cosmetics map[string]string
}

// profileSQL reads one profile with the parts other packages own. A
// deleted account has no profile.
const profileSQL = `SELECT a.id, a.public_id, a.display_name, coalesce(p.cosmetics, '{}') AS cosmetics,
		coalesce(p.version, 0) AS version, coalesce(g.level, 1) AS level, coalesce(g.prestige, 0) AS prestige
	FROM accounts a
	LEFT JOIN player_profiles p ON p.account_id = a.id
	LEFT JOIN progression g ON g.account_id = a.id
	WHERE a.id = $1 AND a.status <> 'deleted'`

type profileRow struct {
	AccountID   int64  `db:"id"`
	PlayerID    string `db:"public_id"`
	DisplayName string `db:"display_name"`
	Cosmetics   []byte `db:"cosmetics"`
	Version     int    `db:"version"`
	Level       int    `db:"level"`
	Prestige    int    `db:"prestige"`
}

func loadProfile(ctx context.Context, q sqlx.QueryerContext, accountID int64) (Profile, error) {
	var r profileRow
	err := sqlx.GetContext(ctx, q, &r, profileSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, ErrNotFound
	}
	if err != nil {
		return Profile{}, fmt.Errorf("load profile: %w", err)
	}
	p := Profile{AccountID: r.AccountID, PlayerID: r.PlayerID, DisplayName: r.DisplayName,
		Level: r.Level, Prestige: r.Prestige, Version: r.Version, Cosmetics: map[string]string{}}
	if err := json.Unmarshal(r.Cosmetics, &p.Cosmetics); err != nil {
		return Profile{}, fmt.Errorf("decode profile %d: %w", accountID, err)
	}
	return p, nil
}

// Profile returns a player's profile, from the cache when it holds it.
func (s *Store) Profile(ctx context.Context, accountID int64) (Profile, error) {
	key := profileKey(accountID)
	var p Profile
	if s.cache.get(ctx, key, &p) {
		return p, nil
	}
	began := time.Now()
	p, err := loadProfile(ctx, s.conn, accountID)
	if err != nil {
		return Profile{}, err
	}
	s.cache.fill(ctx, key, p, began)
	return p, nil
}

// PublicProfile returns the profile of the player with public id
// publicID: ErrNotFound for no such player or a deleted one.
func (s *Store) PublicProfile(ctx context.Context, publicID string) (Profile, error) {
	if publicID == "" || len(publicID) > 64 {
		return Profile{}, ErrNotFound
	}
	var id int64
	if !s.cache.get(ctx, publicKey(publicID), &id) {
		began := time.Now()
		err := s.conn.GetContext(ctx, &id, `SELECT id FROM accounts WHERE public_id = $1`, publicID)
		if errors.Is(err, sql.ErrNoRows) {
			return Profile{}, ErrNotFound
		}
		if err != nil {
			return Profile{}, fmt.Errorf("find player: %w", err)
		}
		s.cache.fill(ctx, publicKey(publicID), id, began) // public ids never change hands
	}
	return s.Profile(ctx, id)
}

// lockPlayer makes sure the player's profile row exists and locks it until
// tx ends. Every write of the profile and every loadout write takes it, so
// they run one at a time per player.
func lockPlayer(ctx context.Context, tx *sqlx.Tx, accountID int64) (version int, err error) {
	const ins = `INSERT INTO player_profiles (account_id) VALUES ($1) ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, ins, accountID); err != nil {
		if db.IsForeignKeyViolation(err) {
			return 0, ErrNotFound
		}
		return 0, fmt.Errorf("lock player: %w", err)
	}
	const sel = `SELECT version FROM player_profiles WHERE account_id = $1 FOR UPDATE`
	if err := tx.GetContext(ctx, &version, sel, accountID); err != nil {
		return 0, fmt.Errorf("lock player: %w", err)
	}
	return version, nil
}

// SaveProfile replaces the player's cosmetics if the profile is still at
// u.Version: a *StaleError with the current profile otherwise. Each item
// must fit its slot (ErrUnknownSlot, ErrItemNotAllowed) and be held by the
// player (ErrNotOwned).
func (s *Store) SaveProfile(ctx context.Context, accountID int64, u ProfileUpdate) (Profile, error) {
	var out Profile
	err := db.InTx(ctx, s.conn, nil, func(tx *sqlx.Tx) error {
		version, err := lockPlayer(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if version != u.Version {
			cur, err := loadProfile(ctx, tx, accountID)
			if err != nil {
				return err
			}
			return &StaleError{Current: cur}
		}
		rules, err := loadProfileRules(ctx, tx)
		if err != nil {
			return err
		}
		cosmetics, err := s.equip(ctx, tx, accountID, rules.Slots, u.Cosmetics)
		if err != nil {
			return err
		}
		body, err := json.Marshal(cosmetics)
		if err != nil {
			return err
		}
		const upd = `UPDATE player_profiles SET cosmetics = $2, version = version + 1, updated_at = now() WHERE account_id = $1`
		if _, err := tx.ExecContext(ctx, upd, accountID, body); err != nil {
			return fmt.Errorf("save profile: %w", err)
		}
		out, err = loadProfile(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return Profile{}, err
	}
	s.cache.forget(ctx, profileKey(accountID))
	return out, nil
}
