package player

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/state"
)

// TestAReadFromBeforeAWriteCannotFillAfterIt plays the race the cache
// protocol is for, step by step: a reader reads the old document, a writer
// commits and invalidates, then the reader tries to fill.
func TestAReadFromBeforeAWriteCannotFillAfterIt(t *testing.T) {
	const hold = 200 * time.Millisecond
	tests := []struct {
		name string
		// race runs the reader's fill of the old copy (read at began) and
		// the writer's invalidation in some order.
		race func(c *cache, began time.Time)
	}{
		{"fill lands before the tombstone", func(c *cache, began time.Time) {
			c.fill(context.Background(), "k", "old", began)
			_ = c.invalidate(context.Background(), "k")
		}},
		{"fill lands on the tombstone", func(c *cache, began time.Time) {
			_ = c.invalidate(context.Background(), "k")
			c.fill(context.Background(), "k", "old", began)
		}},
		{"fill lands after the tombstone expired", func(c *cache, began time.Time) {
			_ = c.invalidate(context.Background(), "k")
			time.Sleep(hold + 20*time.Millisecond)
			c.fill(context.Background(), "k", "old", began)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cache{kv: state.NewMemory(), ttl: time.Minute, hold: hold, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			began := time.Now()
			tt.race(c, began)
			var got string
			if c.get(context.Background(), "k", &got) {
				t.Fatalf("the cache holds %q, read before the write", got)
			}
			// A reader that reads after the write fills once the hold is over.
			time.Sleep(hold)
			c.fill(context.Background(), "k", "new", time.Now())
			if !c.get(context.Background(), "k", &got) || got != "new" {
				t.Fatalf("fresh fill: got %q", got)
			}
		})
	}
}
