package api

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/musterhq/muster/domain/auth"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/web"
)

// writeLimit returns middleware that spends one of the player's writes of
// scope (economy, store, battle pass, player data): rule.N per rule.Per,
// answering 429 with Retry-After beyond it. A nil limiter or an N of 0
// turns it off. When the limiter cannot be reached the write goes ahead:
// every write is idempotent or versioned and checked by the domain on its
// own, and a Redis outage should not stop players playing.
func writeLimit(limiter state.Limiter, rule auth.Rule, log *slog.Logger, scope string) fiber.Handler {
	if limiter == nil || rule.N <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	if log == nil {
		log = slog.Default()
	}
	return func(c *fiber.Ctx) error {
		claims := claimsOf(c)
		d, err := limiter.Allow(c.UserContext(), scope+":write:"+strconv.FormatInt(claims.AccountID, 10), rule.N, rule.Per)
		if err != nil {
			log.WarnContext(c.UserContext(), scope+" rate limit unavailable; write allowed",
				"req_id", web.RequestID(c), "player_id", claims.PlayerID, "err", err)
			return c.Next()
		}
		if !d.Allowed {
			return fail(c, &auth.RateLimitError{RetryAfter: max(d.RetryAfter, time.Second)})
		}
		return c.Next()
	}
}
