package player

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Settings is a player's client settings: a JSON object the game defines,
// returned as it was saved.
type Settings struct {
	Body      json.RawMessage `json:"settings"`
	Version   int             `json:"version"` // 0: never saved
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
}

type settingsRow struct {
	Body      []byte    `db:"body"`
	Version   int       `db:"version"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r settingsRow) settings() Settings {
	at := r.UpdatedAt.UTC()
	return Settings{Body: json.RawMessage(r.Body), Version: r.Version, UpdatedAt: &at}
}

const settingsCols = `body, version, updated_at`

func loadSettings(ctx context.Context, s *Store, accountID int64) (Settings, error) {
	var r settingsRow
	err := s.conn.GetContext(ctx, &r, `SELECT `+settingsCols+` FROM player_settings WHERE account_id = $1`, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return Settings{Body: json.RawMessage(`{}`)}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("load settings: %w", err)
	}
	return r.settings(), nil
}

// Settings returns a player's settings, from the cache when it holds them;
// a player who never saved any has {} at version 0.
func (s *Store) Settings(ctx context.Context, accountID int64) (Settings, error) {
	key := settingsKey(accountID)
	var out Settings
	if s.cache.get(ctx, key, &out) {
		return out, nil
	}
	began := time.Now()
	out, err := loadSettings(ctx, s, accountID)
	if err != nil {
		return Settings{}, err
	}
	s.cache.fill(ctx, key, out, began)
	return out, nil
}

// SaveSettings replaces the player's settings if they are still at
// version: a *StaleError with the current settings otherwise. body must be
// a JSON object (ErrInvalid) of at most SettingsMaxBytes
// (ErrSettingsTooLarge); it is kept without insignificant whitespace.
func (s *Store) SaveSettings(ctx context.Context, accountID int64, version int, body json.RawMessage) (Settings, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return Settings{}, fmt.Errorf("%w: settings must be a JSON object", ErrInvalid)
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return Settings{}, fmt.Errorf("%w: settings must be a JSON object", ErrInvalid)
	}
	if compact.Len() > s.cfg.SettingsMaxBytes {
		return Settings{}, fmt.Errorf("%w: %d bytes, at most %d", ErrSettingsTooLarge, compact.Len(), s.cfg.SettingsMaxBytes)
	}
	// A compare-and-set: insert version 1 from version 0, or update the
	// row only at the expected version.
	var q string
	if version == 0 {
		q = `INSERT INTO player_settings (account_id, body, version) VALUES ($1, $2, 1)
			ON CONFLICT (account_id) DO NOTHING RETURNING ` + settingsCols
	} else {
		q = `UPDATE player_settings SET body = $2, version = version + 1, updated_at = now()
			WHERE account_id = $1 AND version = $3 RETURNING ` + settingsCols
	}
	args := []any{accountID, compact.Bytes()}
	if version != 0 {
		args = append(args, version)
	}
	var r settingsRow
	err := s.conn.GetContext(ctx, &r, q, args...)
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := loadSettings(ctx, s, accountID)
		if err != nil {
			return Settings{}, err
		}
		return Settings{}, &StaleError{Current: cur}
	}
	if err != nil {
		return Settings{}, fmt.Errorf("save settings: %w", err)
	}
	s.cache.forget(ctx, settingsKey(accountID))
	return r.settings(), nil
}
