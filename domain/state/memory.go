package state

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// sweepEvery is how often Memory drops expired entries that nobody has
// looked at. Expiry itself is lazy: an expired entry is treated as absent
// the moment it expires; the sweep only frees its memory.
const sweepEvery = time.Minute

// Memory implements Limiter, KV, PubSub and Presence inside one process,
// for single-node mode. It is safe for concurrent use and runs no
// goroutines; the zero value is not usable, call NewMemory.
type Memory struct {
	mu        sync.Mutex
	buckets   map[string]time.Time // limiter key -> theoretical arrival time
	values    map[string]memValue
	sets      map[string]map[string]time.Time // set -> member -> expiry
	lastSweep time.Time

	psMu sync.RWMutex
	subs map[string]map[*memSubscription]struct{} // channel -> subscribers
}

type memValue struct {
	data    []byte
	expires time.Time // zero: never
}

func (v memValue) live(now time.Time) bool { return v.expires.IsZero() || now.Before(v.expires) }

// NewMemory returns an empty in-process state store.
func NewMemory() *Memory {
	return &Memory{
		buckets:   make(map[string]time.Time),
		values:    make(map[string]memValue),
		sets:      make(map[string]map[string]time.Time),
		lastSweep: time.Now(),
		subs:      make(map[string]map[*memSubscription]struct{}),
	}
}

// lock takes the state lock and returns the current time, sweeping
// expired entries first if a sweep is due.
func (m *Memory) lock() time.Time {
	m.mu.Lock()
	now := time.Now()
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
	}
	return now
}

func (m *Memory) sweep(now time.Time) {
	m.lastSweep = now
	for k, tat := range m.buckets {
		if !tat.After(now) {
			delete(m.buckets, k)
		}
	}
	for k, v := range m.values {
		if !v.live(now) {
			delete(m.values, k)
		}
	}
	for name := range m.sets {
		m.pruneSet(name, now)
	}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, limit int, window time.Duration) (Decision, error) {
	interval, burst, err := gcra(limit, window)
	if err != nil {
		return Decision{}, fmt.Errorf("state: allow %q: %w", key, err)
	}
	now := m.lock()
	defer m.mu.Unlock()
	tat, ok := m.buckets[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(interval)
	allowAt := newTAT.Add(-burst)
	if now.Before(allowAt) {
		return Decision{RetryAfter: allowAt.Sub(now)}, nil
	}
	m.buckets[key] = newTAT
	return Decision{Allowed: true, Remaining: int(now.Sub(allowAt) / interval)}, nil
}

// Get implements KV.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	now := m.lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	if !ok || !v.live(now) {
		return nil, fmt.Errorf("state: get %q: %w", key, ErrNotFound)
	}
	return slices.Clone(v.data), nil
}

// Set implements KV.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("state: set %q: %w", key, err)
	}
	now := m.lock()
	defer m.mu.Unlock()
	m.values[key] = newMemValue(value, ttl, now)
	return nil
}

// SetNX implements KV.
func (m *Memory) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: setnx %q: %w", key, err)
	}
	now := m.lock()
	defer m.mu.Unlock()
	if v, ok := m.values[key]; ok && v.live(now) {
		return false, nil
	}
	m.values[key] = newMemValue(value, ttl, now)
	return true, nil
}

func newMemValue(value []byte, ttl time.Duration, now time.Time) memValue {
	v := memValue{data: slices.Clone(value)}
	if v.data == nil {
		v.data = []byte{}
	}
	if ttl > 0 {
		v.expires = now.Add(ttl)
	}
	return v
}

// Delete implements KV.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.lock()
	defer m.mu.Unlock()
	delete(m.values, key)
	return nil
}

// GetMany implements KV.
func (m *Memory) GetMany(_ context.Context, keys []string) ([][]byte, error) {
	now := m.lock()
	defer m.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if v, ok := m.values[k]; ok && v.live(now) {
			out[i] = slices.Clone(v.data)
		}
	}
	return out, nil
}

// CompareAndSwap implements KV.
func (m *Memory) CompareAndSwap(_ context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: swap %q: %w", key, err)
	}
	now := m.lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	present := ok && v.live(now)
	if old == nil && present || old != nil && (!present || !bytes.Equal(v.data, old)) {
		return false, nil
	}
	if value == nil {
		delete(m.values, key)
	} else {
		m.values[key] = newMemValue(value, ttl, now)
	}
	return true, nil
}

// Expire implements KV.
func (m *Memory) Expire(_ context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: expire %q: %w", key, err)
	}
	now := m.lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	if !ok || !v.live(now) {
		return false, nil
	}
	v.expires = time.Time{}
	if ttl > 0 {
		v.expires = now.Add(ttl)
	}
	m.values[key] = v
	return true, nil
}

// ExpireMany implements KV.
func (m *Memory) ExpireMany(ctx context.Context, keys []string, ttl time.Duration) ([]bool, error) {
	ok := make([]bool, len(keys))
	for i, k := range keys {
		var err error
		if ok[i], err = m.Expire(ctx, k, ttl); err != nil {
			return nil, err
		}
	}
	return ok, nil
}

// TouchMany implements Presence.
func (m *Memory) TouchMany(ctx context.Context, members []SetMember, ttl time.Duration) error {
	for _, sm := range members {
		if err := m.Touch(ctx, sm.Set, sm.Member, ttl); err != nil {
			return err
		}
	}
	return nil
}

// Touch implements Presence.
func (m *Memory) Touch(_ context.Context, set, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("state: touch %q in %q: ttl %s: %w", member, set, ttl, ErrInvalidArgument)
	}
	now := m.lock()
	defer m.mu.Unlock()
	members := m.sets[set]
	if members == nil {
		members = make(map[string]time.Time)
		m.sets[set] = members
	}
	members[member] = now.Add(ttl)
	m.pruneSet(set, now)
	return nil
}

// Remove implements Presence.
func (m *Memory) Remove(_ context.Context, set, member string) error {
	now := m.lock()
	defer m.mu.Unlock()
	delete(m.sets[set], member)
	m.pruneSet(set, now)
	return nil
}

// Members implements Presence.
func (m *Memory) Members(_ context.Context, set string) ([]string, error) {
	now := m.lock()
	defer m.mu.Unlock()
	live := []string{}
	for member, expires := range m.sets[set] {
		if now.Before(expires) {
			live = append(live, member)
		}
	}
	slices.Sort(live)
	return live, nil
}

// IsPresent implements Presence.
func (m *Memory) IsPresent(_ context.Context, set, member string) (bool, error) {
	now := m.lock()
	defer m.mu.Unlock()
	expires, ok := m.sets[set][member]
	return ok && now.Before(expires), nil
}

// pruneSet drops expired members of set, and set itself once empty.
func (m *Memory) pruneSet(set string, now time.Time) {
	members := m.sets[set]
	for member, expires := range members {
		if !now.Before(expires) {
			delete(members, member)
		}
	}
	if len(members) == 0 {
		delete(m.sets, set)
	}
}
