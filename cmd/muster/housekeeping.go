package main

import (
	"context"
	"time"

	"github.com/musterhq/muster/domain/session"
	"github.com/musterhq/muster/domain/staff"
)

// housekeepingRetention is how long ended sessions and expired tokens are
// kept before the worker deletes them.
const housekeepingRetention = 7 * 24 * time.Hour

// housekeeping deletes ended player and staff sessions, expired refresh
// tokens, old challenge sets and old notifications once an hour, from the worker target. Several workers may run it at
// once; the deletes are idempotent.
func housekeeping(p *platform) runner {
	return runner{name: "housekeeping", run: func(ctx context.Context) error {
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			n, err := session.Prune(ctx, p.db, housekeepingRetention)
			if err == nil {
				var m int64
				m, err = staff.Prune(ctx, p.db, housekeepingRetention)
				n += m
			}
			if err == nil && p.meta != nil {
				// Challenge sets of periods that ended two weeks ago.
				var m int64
				m, err = p.meta.challenges.Prune(ctx, time.Now().Add(-2*housekeepingRetention))
				n += m
			}
			if err == nil && p.meta != nil {
				// Notifications: read ones after 30 days, any after 90.
				var m int64
				m, err = p.meta.notify.Prune(ctx, 30*24*time.Hour, 90*24*time.Hour)
				n += m
			}
			switch {
			case err != nil && ctx.Err() == nil:
				p.log.Error("housekeeping", "err", err)
			case n > 0:
				p.log.Info("housekeeping deleted ended sessions and expired tokens", "rows", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}}
}
