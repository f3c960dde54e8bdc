package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis implements Limiter, KV, PubSub and Presence on a Redis server or
// cluster, for deployments with more than one node.
//
// Every key and channel it uses starts with the prefix given to NewRedis,
// followed by a name for the concern ("limit:", "kv:", "presence:",
// "pubsub:"), so the four never collide and several deployments or tests
// can share one server.
//
// Time-based decisions (limits, presence) use the Redis server clock via
// TIME inside Lua scripts, never the caller's clock, so nodes with skewed
// clocks agree. KV expiry is Redis' own.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	scripts scripts
}

// NewRedis returns a Redis state store using client, with every key and
// channel prefixed by prefix (for example "muster:"). The caller owns
// client and closes it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, scripts: newScripts()}
}

func (r *Redis) key(kind, name string) string { return r.prefix + kind + ":" + name }

// Allow implements Limiter with one atomic Lua script.
func (r *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	interval, burst, err := gcra(limit, window)
	if err != nil {
		return Decision{}, fmt.Errorf("state: allow %q: %w", key, err)
	}
	res, err := r.scripts.limiter.Run(ctx, r.client, []string{r.key("limit", key)},
		interval.Microseconds(), burst.Microseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("state: allow %q: %w", key, err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("state: allow %q: unexpected script reply %v", key, res)
	}
	return Decision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
	}, nil
}

// Get implements KV.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := r.client.Get(ctx, r.key("kv", key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("state: get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("state: get %q: %w", key, err)
	}
	return v, nil
}

// Set implements KV.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("state: set %q: %w", key, err)
	}
	if err := r.client.Set(ctx, r.key("kv", key), value, ttl).Err(); err != nil {
		return fmt.Errorf("state: set %q: %w", key, err)
	}
	return nil
}

// SetNX implements KV.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: setnx %q: %w", key, err)
	}
	ok, err := r.client.SetNX(ctx, r.key("kv", key), value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("state: setnx %q: %w", key, err)
	}
	return ok, nil
}

// Delete implements KV.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key("kv", key)).Err(); err != nil {
		return fmt.Errorf("state: delete %q: %w", key, err)
	}
	return nil
}

// GetMany implements KV with one MGET.
func (r *Redis) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.key("kv", k)
	}
	vals, err := r.client.MGet(ctx, full...).Result()
	if err != nil {
		return nil, fmt.Errorf("state: get %d keys: %w", len(keys), err)
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, nil
}

// CompareAndSwap implements KV with one atomic Lua script.
func (r *Redis) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: swap %q: %w", key, err)
	}
	expectAbsent, del := "0", "0"
	if old == nil {
		expectAbsent = "1"
	}
	if value == nil {
		del = "1"
	}
	n, err := r.scripts.swap.Run(ctx, r.client, []string{r.key("kv", key)},
		expectAbsent, old, del, value, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("state: swap %q: %w", key, err)
	}
	return n == 1, nil
}

// Expire implements KV.
func (r *Redis) Expire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("state: expire %q: %w", key, err)
	}
	var ok bool
	var err error
	if ttl == 0 {
		ok, err = r.client.Persist(ctx, r.key("kv", key)).Result()
		if err == nil && !ok {
			// PERSIST answers false for a key without expiry too.
			var n int64
			n, err = r.client.Exists(ctx, r.key("kv", key)).Result()
			ok = n == 1
		}
	} else {
		ok, err = r.client.PExpire(ctx, r.key("kv", key), ttl).Result()
	}
	if err != nil {
		return false, fmt.Errorf("state: expire %q: %w", key, err)
	}
	return ok, nil
}

// pipelineChunk bounds the commands of one pipeline of ExpireMany and
// TouchMany, so that neither side buffers an unbounded batch.
const pipelineChunk = 1000

// ExpireMany implements KV.
func (r *Redis) ExpireMany(ctx context.Context, keys []string, ttl time.Duration) ([]bool, error) {
	if err := checkTTL(ttl); err != nil {
		return nil, fmt.Errorf("state: expire %d keys: %w", len(keys), err)
	}
	ok := make([]bool, len(keys))
	if ttl == 0 { // rare: PERSIST needs a second command per key (see Expire)
		for i, k := range keys {
			var err error
			if ok[i], err = r.Expire(ctx, k, 0); err != nil {
				return nil, err
			}
		}
		return ok, nil
	}
	for at := 0; at < len(keys); at += pipelineChunk {
		chunk := keys[at:min(at+pipelineChunk, len(keys))]
		cmds := make([]*redis.BoolCmd, len(chunk))
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range chunk {
				cmds[i] = p.PExpire(ctx, r.key("kv", k), ttl)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("state: expire %d keys: %w", len(keys), err)
		}
		for i, c := range cmds {
			ok[at+i] = c.Val()
		}
	}
	return ok, nil
}

// TouchMany implements Presence.
func (r *Redis) TouchMany(ctx context.Context, members []SetMember, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("state: touch %d members: ttl %s: %w", len(members), ttl, ErrInvalidArgument)
	}
	micros := ceilMicros(ttl).Microseconds()
	for at := 0; at < len(members); at += pipelineChunk {
		chunk := members[at:min(at+pipelineChunk, len(members))]
		run := func() error {
			_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, sm := range chunk {
					r.scripts.touch.EvalSha(ctx, p, []string{r.key("presence", sm.Set)}, sm.Member, micros)
				}
				return nil
			})
			return err
		}
		err := run()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// A new or restarted server: load the script, then again.
			if err = r.scripts.touch.Load(ctx, r.client).Err(); err == nil {
				err = run()
			}
		}
		if err != nil {
			return fmt.Errorf("state: touch %d members: %w", len(members), err)
		}
	}
	return nil
}

// Publish implements PubSub.
func (r *Redis) Publish(ctx context.Context, channel string, payload []byte) error {
	if err := r.client.Publish(ctx, r.key("pubsub", channel), payload).Err(); err != nil {
		return fmt.Errorf("state: publish %q: %w", channel, err)
	}
	return nil
}

// Touch implements Presence.
func (r *Redis) Touch(ctx context.Context, set, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("state: touch %q in %q: ttl %s: %w", member, set, ttl, ErrInvalidArgument)
	}
	err := r.scripts.touch.Run(ctx, r.client, []string{r.key("presence", set)},
		member, ceilMicros(ttl).Microseconds()).Err()
	if err != nil {
		return fmt.Errorf("state: touch %q in %q: %w", member, set, err)
	}
	return nil
}

// Remove implements Presence.
func (r *Redis) Remove(ctx context.Context, set, member string) error {
	if err := r.client.ZRem(ctx, r.key("presence", set), member).Err(); err != nil {
		return fmt.Errorf("state: remove %q from %q: %w", member, set, err)
	}
	return nil
}

// Members implements Presence.
func (r *Redis) Members(ctx context.Context, set string) ([]string, error) {
	members, err := r.scripts.members.Run(ctx, r.client, []string{r.key("presence", set)}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("state: members of %q: %w", set, err)
	}
	slices.Sort(members)
	return members, nil
}

// IsPresent implements Presence.
func (r *Redis) IsPresent(ctx context.Context, set, member string) (bool, error) {
	n, err := r.scripts.isPresent.Run(ctx, r.client, []string{r.key("presence", set)}, member).Int64()
	if err != nil {
		return false, fmt.Errorf("state: is %q in %q: %w", member, set, err)
	}
	return n == 1, nil
}
