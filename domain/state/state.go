// Package state holds the shared fast state Muster's services need across
// nodes: rate limits, short-lived keys, best-effort fan-out and presence.
//
// Each concern is a small interface. Redis implements all of them for
// multi-node deployments; Memory is the in-process twin for single-node
// mode. Both pass the same contract tests, so a service written against the
// interfaces behaves the same on either.
//
// Nothing here is durable. Anything that must survive a restart belongs in
// the database; this package only holds what can be rebuilt or lost.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound is returned by KV.Get when the key is missing or expired.
	ErrNotFound = errors.New("state: not found")
	// ErrInvalidArgument is returned (wrapped) when a limit, window, TTL or
	// channel list cannot be used.
	ErrInvalidArgument = errors.New("state: invalid argument")
)

// Limiter decides whether an action keyed by key may happen now.
//
// It implements GCRA (the generic cell rate algorithm): with limit actions
// per window, one action is earned every window/limit (the emission
// interval) and at most limit actions can be taken in a burst.
type Limiter interface {
	// Allow records one action for key if it is allowed. A denied action
	// is not recorded. limit and window must be positive.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error)
}

// Decision is the outcome of Limiter.Allow.
type Decision struct {
	// Allowed reports whether the action may happen.
	Allowed bool
	// Remaining is how many more actions would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next action is allowed;
	// zero when Allowed is true.
	RetryAfter time.Duration
}

// KV is a byte-value store with optional expiry.
type KV interface {
	// Get returns the value of key, or ErrNotFound if it is missing or
	// expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key. ttl 0 means no expiry.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value under key only if key is absent and reports
	// whether it did. ttl 0 means no expiry.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// GetMany returns the values of keys in one round trip: out[i] is
	// keys[i]'s value, nil when it is missing or expired.
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
	// CompareAndSwap replaces key's value with value only if its current
	// value equals old (old nil: only if key is absent) and reports whether
	// it did. A nil value deletes the key instead; otherwise ttl applies as
	// in Set. It is how several nodes update one document without losing
	// each other's changes: read, change, swap, and read again on false.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
	// Expire sets key to expire after ttl from now (0: never) and reports
	// whether key exists.
	Expire(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// ExpireMany does what Expire does for each of keys, in one round trip
	// (a pipeline in Redis): ok[i] reports whether keys[i] exists.
	ExpireMany(ctx context.Context, keys []string, ttl time.Duration) ([]bool, error)
}

// PubSub fans messages out to every current subscriber of a channel.
//
// Delivery is best-effort: a message published while nobody listens, while
// a connection is down, or while a subscriber's buffer is full is dropped.
// Publishers never block on slow subscribers. Only publish what may be
// lost because a durable copy exists elsewhere (a notification that
// something changed, not the change itself).
type PubSub interface {
	// Publish sends payload to the current subscribers of channel.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe listens on channels. It returns once the subscription is
	// active, so a Publish that starts after it returns is received. ctx
	// bounds only the subscribe call; the subscription lasts until Close.
	Subscribe(ctx context.Context, channels ...string) (Subscription, error)
}

// Subscription is an active PubSub subscription.
type Subscription interface {
	// C delivers messages. Its buffer is bounded; when it is full new
	// messages are dropped. C is closed by Close.
	C() <-chan Message
	// Close ends the subscription and closes C. Calling it again is a
	// no-op.
	Close() error
}

// Message is one delivery on a Subscription.
type Message struct {
	Channel string
	Payload []byte
}

// Presence tracks which members of a set are alive, by heartbeat.
type Presence interface {
	// Touch marks member present in set until ttl passes without another
	// Touch.
	Touch(ctx context.Context, set, member string, ttl time.Duration) error
	// Remove marks member absent now.
	Remove(ctx context.Context, set, member string) error
	// Members returns the live members of set, sorted.
	Members(ctx context.Context, set string) ([]string, error)
	// IsPresent reports whether member is live in set.
	IsPresent(ctx context.Context, set, member string) (bool, error)
	// TouchMany does what Touch does for each of members, in one round
	// trip (a pipeline in Redis). A node that keeps thousands of members
	// alive refreshes them this way, not one command each.
	TouchMany(ctx context.Context, members []SetMember, ttl time.Duration) error
}

// SetMember names a member of a Presence set.
type SetMember struct {
	Set, Member string
}

// subscriptionBuffer bounds how many undelivered messages a subscription
// holds before it starts dropping. It is sized for bursts: a realtime
// gateway hears every notification of every node, and at 20,000 messages
// a second this holds about 0.8 s of them, where 256 held 13 ms, so that a
// pause of the reader (a GC cycle, a busy CPU) delays messages instead of
// dropping them. A dropped notification is read back from PostgreSQL, one
// query per connection that missed one. Each subscription's buffer takes
// 16384 × 40 bytes (640 KiB) up front.
const subscriptionBuffer = 16384

// gcra returns the emission interval and burst tolerance for limit actions
// per window. The interval is rounded up to a whole microsecond, the
// resolution the Redis script works in, so both implementations agree.
func gcra(limit int, window time.Duration) (interval, burst time.Duration, err error) {
	if limit <= 0 || window <= 0 {
		return 0, 0, fmt.Errorf("limit %d per %s: %w", limit, window, ErrInvalidArgument)
	}
	interval = ceilMicros(window / time.Duration(limit))
	return interval, interval * time.Duration(limit), nil
}

// checkTTL rejects negative TTLs; zero means no expiry.
func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("ttl %s: %w", ttl, ErrInvalidArgument)
	}
	return nil
}

// ceilMicros rounds d up to a whole, non-zero number of microseconds.
func ceilMicros(d time.Duration) time.Duration {
	if r := d % time.Microsecond; r != 0 {
		d += time.Microsecond - r
	}
	return max(d, time.Microsecond)
}

// uniqueChannels checks and de-duplicates a channel list.
func uniqueChannels(channels []string) ([]string, error) {
	if len(channels) == 0 {
		return nil, fmt.Errorf("no channels: %w", ErrInvalidArgument)
	}
	seen := make(map[string]bool, len(channels))
	out := make([]string, 0, len(channels))
	for _, c := range channels {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// Both implementations provide every interface.
var (
	_ Limiter  = (*Redis)(nil)
	_ KV       = (*Redis)(nil)
	_ PubSub   = (*Redis)(nil)
	_ Presence = (*Redis)(nil)
	_ Limiter  = (*Memory)(nil)
	_ KV       = (*Memory)(nil)
	_ PubSub   = (*Memory)(nil)
	_ Presence = (*Memory)(nil)
)
