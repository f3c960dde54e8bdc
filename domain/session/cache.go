package session

import (
	"crypto/sha256"
	"sync"
	"time"
)

const cacheShards = 64

// verifiedCache remembers the claims of access tokens whose signature has
// been verified, keyed by SHA-256 of the token. It holds at most about
// size entries: a full shard first drops expired entries, then random
// ones (Go map order) until it is 1/16 below its share, so the cost of
// making room is amortised over many inserts.
type verifiedCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]Claims
	_  [32]byte // pad to 64 bytes so shards do not share cache lines
}

func newVerifiedCache(size int) *verifiedCache {
	c := &verifiedCache{perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]Claims)
	}
	return c
}

func (c *verifiedCache) shard(k [sha256.Size]byte) *cacheShard {
	return &c.shards[int(k[0])%cacheShards]
}

func (c *verifiedCache) get(k [sha256.Size]byte) (Claims, bool) {
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

func (c *verifiedCache) put(k [sha256.Size]byte, v Claims, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		target := c.perShard - max(1, c.perShard/16)
		for key, e := range s.m {
			if !now.Before(e.ExpiresAt.Add(Leeway)) {
				delete(s.m, key)
			}
		}
		for key := range s.m {
			if len(s.m) <= target {
				break
			}
			delete(s.m, key)
		}
	}
	s.m[k] = v
}

// len reports how many entries the cache holds.
func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
