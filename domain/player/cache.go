package player

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/musterhq/muster/domain/state"
)

// The read cache. Documents are cached in state.KV as JSON under a key per
// player and document, for CacheTTL, so that logins read Redis and not
// PostgreSQL. KV has no compare-and-set, so the protocol is built from
// Set, SetNX and expiry:
//
//   - A reader that misses reads the committed document from PostgreSQL
//     and fills the key with SetNX, which never replaces what is there.
//   - A writer, after its transaction commits, Sets the key to a tombstone
//     that lives CacheHold. Set replaces a cached copy, and a tombstone
//     makes every fill fail (SetNX) until it expires, so for CacheHold
//     after a write readers serve from PostgreSQL.
//   - A reader only fills if its database read began less than
//     CacheHold/2 ago.
//
// A stale fill would need a reader to have read before a write committed
// and to fill after that write's tombstone expired: more than CacheHold
// after its read began, which the last rule refuses. A fill that lands
// between the commit and the tombstone is replaced by the tombstone. Two
// writers racing only write two tombstones. So a reader never puts back a
// copy older than a write whose tombstone was written; the one gap is a
// writer that dies, or cannot reach Redis, between its commit and its
// tombstone (it then tries Delete; failing both it logs), and CacheTTL
// bounds how long that copy lives. CacheTTL also bounds how stale the
// parts of a profile that other packages own (display name, level) are
// when they do not call Store.Invalidate.

// cacheFormat is part of every key: a change to what is cached changes it,
// so nodes of two releases never read each other's copies.
const cacheFormat = "v1"

func key(doc string, id int64) string {
	return "player:" + cacheFormat + ":" + doc + ":" + strconv.FormatInt(id, 10)
}

func profileKey(id int64) string  { return key("profile", id) }
func loadoutsKey(id int64) string { return key("loadouts", id) }
func settingsKey(id int64) string { return key("settings", id) }

// publicKey maps a public player id to the account id; it never changes.
func publicKey(publicID string) string { return "player:" + cacheFormat + ":public:" + publicID }

// Cached values start with one byte that says what they are.
const (
	tagValue     = 'V'
	tagTombstone = 'T'
)

type cache struct {
	kv   state.KV // nil: no cache
	ttl  time.Duration
	hold time.Duration
	log  *slog.Logger

	lastWarn atomic.Int64 // unix nanoseconds of the last warning logged
}

// warnEvery spaces out warnings about an unreachable cache: while Redis is
// down every read would log one.
const warnEvery = 10 * time.Second

// warn logs a cache failure the store works around, at most once per
// warnEvery.
func (c *cache) warn(ctx context.Context, msg, key string, err error) {
	now := time.Now().UnixNano()
	last := c.lastWarn.Load()
	if now-last < int64(warnEvery) || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	c.log.WarnContext(ctx, msg, "key", key, "err", err)
}

// get decodes the cached copy of key into dest and reports whether there
// was one. A tombstone, a missing key and a failure are all misses.
func (c *cache) get(ctx context.Context, key string, dest any) bool {
	if c.kv == nil {
		return false
	}
	b, err := c.kv.Get(ctx, key)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return false
	case err != nil:
		c.warn(ctx, "player cache unavailable; reading the database", key, err)
		return false
	case len(b) == 0 || b[0] != tagValue:
		return false
	}
	if err := json.Unmarshal(b[1:], dest); err != nil {
		c.warn(ctx, "player cache holds a copy that does not decode", key, err)
		return false
	}
	return true
}

// fill caches v under key unless something (a copy or a tombstone) is
// there, or the read that produced v began too long ago to be safe.
func (c *cache) fill(ctx context.Context, key string, v any, readBegan time.Time) {
	if c.kv == nil || time.Since(readBegan) >= c.hold/2 {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.log.ErrorContext(ctx, "player cache cannot encode a document", "key", key, "err", err)
		return
	}
	if _, err := c.kv.SetNX(ctx, key, append([]byte{tagValue}, b...), c.ttl); err != nil {
		c.warn(ctx, "player cache fill failed", key, err)
	}
}

// invalidate replaces key's copy with a tombstone; it is called after the
// change commits. When the tombstone cannot be written it tries to delete
// the key, and returns an error only when both fail.
func (c *cache) invalidate(ctx context.Context, key string) error {
	if c.kv == nil {
		return nil
	}
	// The caller's context may be ending (the client went away after the
	// commit); the tombstone still matters.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	err := c.kv.Set(ctx, key, []byte{tagTombstone}, c.hold)
	if err == nil {
		return nil
	}
	if derr := c.kv.Delete(ctx, key); derr == nil {
		return nil
	}
	return err
}

// forget invalidates keys after a committed write, logging failures: the
// write stands, and CacheTTL bounds the stale copy.
func (c *cache) forget(ctx context.Context, keys ...string) {
	for _, k := range keys {
		if err := c.invalidate(ctx, k); err != nil {
			c.log.ErrorContext(ctx, "player cache not invalidated after a write; a stale copy may be read until it expires",
				"key", k, "err", err)
		}
	}
}
