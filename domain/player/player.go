// Package player owns a player's own data: the profile others see (the
// cosmetic in each profile slot), named loadouts, client settings, and
// match stats.
//
// Profile, loadouts and settings are documents the player writes, each
// with a version for optimistic concurrency: a write names the version it
// was made from, and a stale one is refused with a *StaleError that carries
// the current document, so a client can merge and retry. Every item a
// profile or loadout names must fit its slot (content kinds profile_rules
// and loadout_rules) and be held by the player, checked inside the write's
// transaction.
//
// Stats are written only by the stats consumer of match.accepted, once per
// match, as lifetime and per-season sums.
//
// Profile, loadouts and settings are read at every login, so reads are
// served from a cache in state.KV (Redis, or the in-process twin) that
// every write invalidates; cache.go explains why a reader can never put a
// stale copy back.
package player

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/content"
	"github.com/musterhq/muster/domain/inventory"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/state"
)

// Errors of this package. Those that name an item, slot or limit wrap the
// sentinel with that detail after it ("item not owned: weapon.ak (slot
// primary)").
var (
	ErrStaleVersion     = errors.New("the document was changed since this version")
	ErrNotOwned         = errors.New("the player does not own this item")
	ErrItemNotAllowed   = errors.New("this item does not fit the slot")
	ErrUnknownSlot      = errors.New("unknown slot")
	ErrSlotRequired     = errors.New("a required slot is empty")
	ErrTooManyLoadouts  = errors.New("the player has as many loadouts as allowed")
	ErrLoadoutNotFound  = errors.New("loadout not found")
	ErrSettingsTooLarge = errors.New("the settings are too large")
	ErrInvalid          = errors.New("invalid player data")
	ErrNotFound         = errors.New("player not found")
	ErrUnknownSeason    = errors.New("unknown season")
)

// StaleError refuses a write made from an old version. Current is the
// document as it is now: a Profile, a Loadout or Settings, or nil when the
// loadout the write was made from has since been deleted. It matches
// ErrStaleVersion.
type StaleError struct {
	Current any
}

func (e *StaleError) Error() string { return ErrStaleVersion.Error() }

// Is makes a StaleError match ErrStaleVersion.
func (e *StaleError) Is(target error) bool { return target == ErrStaleVersion }

// Config tunes the store. Zero values take the defaults.
type Config struct {
	// SettingsMaxBytes bounds a player's settings document, as sent.
	// Default 16 KiB.
	SettingsMaxBytes int
	// CacheTTL is how long a cached document lives. It bounds how stale
	// the parts of a profile that other packages write (display name,
	// level, prestige) can be when their owner does not call Invalidate.
	// Default 30s.
	CacheTTL time.Duration
	// CacheHold is how long after a write readers go to the database and
	// do not fill the cache. Default 2s; see cache.go.
	CacheHold time.Duration
	// RulesTTL is how long a process keeps the published slot rules it
	// shows with loadouts and profiles. Writes always check the current
	// rules. Default 10s.
	RulesTTL time.Duration
	// Log receives cache failures (the store then serves from the
	// database). Default slog.Default().
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.SettingsMaxBytes <= 0 {
		c.SettingsMaxBytes = 16 << 10
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = 30 * time.Second
	}
	if c.CacheHold <= 0 {
		c.CacheHold = 2 * time.Second
	}
	if c.RulesTTL <= 0 {
		c.RulesTTL = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Store reads and writes player data.
type Store struct {
	conn  *sqlx.DB
	inv   *inventory.Store
	cfg   Config
	cache *cache
	rules *rulesCache
}

// New returns a store over conn. kv caches documents for reads; nil turns
// the cache off (every read goes to the database). inv checks that players
// hold what they equip.
func New(conn *sqlx.DB, kv state.KV, inv *inventory.Store, cfg Config) *Store {
	cfg = cfg.withDefaults()
	return &Store{conn: conn, inv: inv, cfg: cfg,
		cache: &cache{kv: kv, ttl: cfg.CacheTTL, hold: cfg.CacheHold, log: cfg.Log},
		rules: &rulesCache{ttl: cfg.RulesTTL}}
}

// Config returns the store's configuration with defaults applied.
func (s *Store) Config() Config { return s.cfg }

// Kinds are the content kinds this package owns, for content.Store.Register.
func (s *Store) Kinds() []content.Kind { return []content.Kind{LoadoutRulesKind(), ProfileRulesKind()} }

// Invalidate drops the cached profiles of players, for the packages that
// own a part of it (display name, level, prestige): call it after their
// change commits, and the next read shows it.
func (s *Store) Invalidate(ctx context.Context, accountIDs ...int64) error {
	var errs []error
	for _, id := range accountIDs {
		if err := s.cache.invalidate(ctx, profileKey(id)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalidate profiles: %w", err)
	}
	return nil
}

// ProfileCacheConsumerName is the outbox consumer ProfileCacheConsumer
// returns.
const ProfileCacheConsumerName = "player.profile_cache"

// ProfileCacheConsumer returns an outbox consumer that drops the cached
// profile of the player each event names (a payload with "account_id"),
// for topics another package writes in the transaction that changes a part
// of a profile (progression.level_up). The event is delivered after that
// transaction commits, so the next read shows the change. A failure to
// reach the cache is logged, not retried: CacheTTL bounds that copy.
func (s *Store) ProfileCacheConsumer(topics ...string) outbox.Consumer {
	return outbox.Consumer{Name: ProfileCacheConsumerName, Topics: topics, Batch: 100,
		HandleBatch: func(ctx context.Context, _ *sqlx.Tx, evs []outbox.Event) error {
			for _, ev := range evs {
				var p struct {
					AccountID int64 `json:"account_id"`
				}
				if err := ev.Decode(&p); err != nil {
					return err
				}
				if p.AccountID > 0 {
					s.cache.forget(ctx, profileKey(p.AccountID))
				}
			}
			return nil
		}}
}
