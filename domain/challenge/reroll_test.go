package challenge_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/match"
)

func TestRerollLimitsAndIdempotency(t *testing.T) {
	f := setup(t)
	f.configure(f.bigPool("d", 6), 3, 2, f.bigPool("w", 3), 1, 0)
	f.clock.Set(utc("2026-01-15T12:00:00Z"))
	a := f.player("DE")
	start := f.current(a)
	first := start.Daily.Challenges[0].ID

	r1, err := f.store.Reroll(f.ctx, a, first, "k1")
	if err != nil {
		t.Fatal(err)
	}
	after := drawnIDs(r1.View.Daily)
	if r1.Replayed || r1.Replaced != first || r1.With == first || !slices.Contains(after, r1.With) || slices.Contains(after, first) {
		t.Fatalf("reroll = %+v, set now %v", r1, after)
	}
	if slices.Index(after, r1.With) != 0 || r1.View.Daily.RerollsLeft != 1 {
		t.Fatalf("the new challenge is at %d with %d rerolls left, want slot 0 and 1 left", slices.Index(after, r1.With), r1.View.Daily.RerollsLeft)
	}
	for _, id := range drawnIDs(start.Daily)[1:] {
		if !slices.Contains(after, id) {
			t.Fatalf("%s left the set on rerolling %s", id, first)
		}
	}

	// The same key again answers the first reroll and spends nothing.
	again, err := f.store.Reroll(f.ctx, a, first, "k1")
	if err != nil || !again.Replayed || again.With != r1.With || again.View.Daily.RerollsLeft != 1 {
		t.Fatalf("retry = %+v, %v; want the first reroll replayed", again, err)
	}
	// The same key for another challenge is refused.
	if _, err := f.store.Reroll(f.ctx, a, after[1], "k1"); !errors.Is(err, challenge.ErrKeyReused) {
		t.Fatalf("key reused for another challenge: %v, want ErrKeyReused", err)
	}

	tests := []struct {
		name      string
		challenge string
		key       string
		want      error
	}{
		{"not in the set", "nope", "k2", challenge.ErrNotFound},
		{"rerolled away already", first, "k3", challenge.ErrNotFound},
		{"a weekly challenge with no weekly rerolls", start.Weekly.Challenges[0].ID, "k4", challenge.ErrNoRerolls},
		{"the second daily reroll", after[1], "k5", nil},
		{"a third daily reroll", after[2], "k6", challenge.ErrNoRerolls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.store.Reroll(f.ctx, a, tt.challenge, tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("Reroll(%s) = %v, want %v", tt.challenge, err, tt.want)
			}
		})
	}
	// A refused reroll used no key: the key still works.
	v := f.current(a)
	if v.Daily.RerollsLeft != 0 {
		t.Fatalf("rerolls left %d, want 0", v.Daily.RerollsLeft)
	}
	// Rerolled-away challenges are not drawn back.
	if slices.Contains(drawnIDs(v.Daily), first) || slices.Contains(drawnIDs(v.Daily), after[1]) {
		t.Fatalf("set %v holds a rerolled-away challenge", drawnIDs(v.Daily))
	}

	// The next day brings a new set and new rerolls.
	f.clock.Set(utc("2026-01-16T12:00:00Z"))
	v = f.current(a)
	if v.Daily.Period != "daily:2026-01-16" || v.Daily.RerollsLeft != 2 {
		t.Fatalf("next day: %s with %d rerolls, want daily:2026-01-16 with 2", v.Daily.Period, v.Daily.RerollsLeft)
	}
	if _, err := f.store.Reroll(f.ctx, a, v.Daily.Challenges[2].ID, "k7"); err != nil {
		t.Fatal(err)
	}
}

func TestRerollRefusesCompletedAndWhenNothingIsLeft(t *testing.T) {
	f := setup(t)
	pool := f.bigPool("d", 4) // matches played, targets 1 to 4
	f.configure(pool, 3, 5, nil, 0, 0)
	a := f.player("US")
	v := f.current(a)
	f.deliver(f.match("br", played(a, 4, nil, nil)))
	var done, open []string
	for _, c := range f.current(a).Daily.Challenges {
		if c.Completed() {
			done = append(done, c.ID)
		} else {
			open = append(open, c.ID)
		}
	}
	if slices.Contains(drawnIDs(v.Daily), "d00") != (len(done) == 1) {
		t.Fatalf("done %v, open %v", done, open)
	}
	if len(done) > 0 {
		if _, err := f.store.Reroll(f.ctx, a, done[0], "done"); !errors.Is(err, challenge.ErrCompleted) {
			t.Fatalf("rerolling a completed challenge: %v, want ErrCompleted", err)
		}
	}
	// One challenge of the pool is not in the set: the first reroll takes
	// it, the second finds nothing that was neither drawn nor rerolled away.
	if _, err := f.store.Reroll(f.ctx, a, open[0], "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Reroll(f.ctx, a, open[1], "r2"); !errors.Is(err, challenge.ErrNoReplacement) {
		t.Fatalf("second reroll = %v, want ErrNoReplacement", err)
	}
	if left := f.current(a).Daily.RerollsLeft; left != 4 {
		t.Fatalf("rerolls left %d, want 4 (a refused reroll costs nothing)", left)
	}
}

// TestRerolledChallengeStartsAfresh checks that progress does not carry
// over, and that a match counted after a reroll counts toward the new one.
func TestRerolledChallengeStartsAfresh(t *testing.T) {
	f := setup(t)
	pool := f.bigPool("d", 8)
	for i := range pool {
		pool[i].Goal.Target++ // no challenge is completed by one match
	}
	f.configure(pool, 1, 1, nil, 0, 0)
	a := f.player("CA")
	old := f.current(a).Daily.Challenges[0]
	f.deliver(f.match("br", played(a, 3, map[string]int64{match.StatKills: 1}, nil)))
	r, err := f.store.Reroll(f.ctx, a, old.ID, "x")
	if err != nil {
		t.Fatal(err)
	}
	if c := r.View.Daily.Challenges[0]; c.ID == old.ID || c.Progress != 0 {
		t.Fatalf("after reroll %+v, want a new challenge at 0", c)
	}
	f.deliver(f.match("br", played(a, 3, nil, nil)))
	if c := f.current(a).Daily.Challenges[0]; c.Progress != 1 {
		t.Fatalf("the new challenge has %d, want 1", c.Progress)
	}
}

// TestConcurrentRetriesOfARerollRerollOnce sends the same reroll four
// times at once, as a client retrying on timeouts might.
func TestConcurrentRetriesOfARerollRerollOnce(t *testing.T) {
	f := setup(t)
	f.configure(f.bigPool("d", 10), 3, 3, nil, 0, 0)
	a := f.player("FR")
	target := f.current(a).Daily.Challenges[1].ID
	var wg sync.WaitGroup
	results := make([]challenge.Rerolled, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = f.store.Reroll(f.ctx, a, target, "same") })
	}
	wg.Wait()
	firsts := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("attempt %d: %v", i, errs[i])
		}
		if !r.Replayed {
			firsts++
		}
		if r.With != results[0].With {
			t.Fatalf("attempts answered %s and %s", r.With, results[0].With)
		}
	}
	if firsts != 1 || f.current(a).Daily.RerollsLeft != 2 {
		t.Fatalf("%d attempts rerolled, %d rerolls left; want 1 and 2", firsts, f.current(a).Daily.RerollsLeft)
	}
}

func drawnIDs(s *challenge.Set) []string {
	out := make([]string, len(s.Challenges))
	for i, c := range s.Challenges {
		out[i] = c.ID
	}
	return out
}
