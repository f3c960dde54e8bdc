package realtime

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Rate is N requests per Per; an N of 0 turns a limit off.
type Rate struct {
	N   int
	Per time.Duration
}

// errRateLimited answers a request beyond a per-player limit
// (RATE_LIMITED, with retry_after_ms from the limitedError that wraps it).
var errRateLimited = errors.New("too many requests: wait and try again")

// limitedError is errRateLimited with how long to wait.
type limitedError struct{ after time.Duration }

func (e *limitedError) Error() string { return errRateLimited.Error() }
func (e *limitedError) Unwrap() error { return errRateLimited }

// RetryAfterMillis is how long to wait, for the Error frame's
// retry_after_ms (see answer).
func (e *limitedError) RetryAfterMillis() uint32 {
	return uint32(min(e.after.Milliseconds(), 1<<31))
}

// allow spends one of accountID's requests of scope under r. The key is
// the one the REST routes of the same scope spend (api's writeLimit), so
// both edges share one budget. Without a limiter, or when it cannot be
// reached, the request goes ahead: the domain checks it on its own, and a
// Redis outage should not stop players playing.
func (g *Gateway) allow(ctx context.Context, scope string, accountID int64, r Rate) error {
	if g.deps.Limiter == nil || r.N <= 0 {
		return nil
	}
	d, err := g.deps.Limiter.Allow(ctx, scope+":write:"+strconv.FormatInt(accountID, 10), r.N, r.Per)
	if err != nil {
		g.log.Warn("realtime: rate limit unavailable; request allowed", "scope", scope, "err", err)
		return nil
	}
	if !d.Allowed {
		return &limitedError{after: max(d.RetryAfter, time.Second)}
	}
	return nil
}
