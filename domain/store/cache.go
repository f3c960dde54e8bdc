package store

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// productCache keeps the products this process sold, so that a purchase
// does not read its product every time. It is safe because every order's
// insert checks that the product is still at the cached version
// (errProductChanged), and an edit always bumps the version.
type productCache struct {
	mu sync.RWMutex
	m  map[string]Product
}

func (c *productCache) get(ctx context.Context, q sqlx.QueryerContext, id string) (Product, error) {
	c.mu.RLock()
	p, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := getProduct(ctx, q, id)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[string]Product{}
	}
	c.m[id] = p
	c.mu.Unlock()
	return p, nil
}

func (c *productCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
