package challenge_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/musterhq/muster/domain/challenge"
)

// bigPool is n challenges of equal weight.
func (f *fx) bigPool(prefix string, n int) []challenge.Challenge {
	out := make([]challenge.Challenge, n)
	for i := range out {
		out[i] = ch(fmt.Sprintf("%s%02d", prefix, i), challenge.MetricMatches, int64(i+1), f.coins(int64(i+1)))
	}
	return out
}

// TestDailySetsTurnOverAtEachRegionsResetTime reads the sets of a New York
// player and a Berlin player as the clock passes 04:00 in Berlin, then in
// New York, and across New York's spring forward.
func TestDailySetsTurnOverAtEachRegionsResetTime(t *testing.T) {
	f := setup(t)
	f.configure(f.bigPool("d", 20), 3, 1, f.bigPool("w", 10), 2, 0)
	ny, berlin := f.player("US"), f.player("DE")

	steps := []struct {
		at                string
		nyKey, berlinKey  string
		nyEnds, berlinEnd string
	}{
		{"2026-01-15T02:30:00Z", "daily:2026-01-14", "daily:2026-01-14", "2026-01-15T09:00:00Z", "2026-01-15T03:00:00Z"},
		{"2026-01-15T03:00:00Z", "daily:2026-01-14", "daily:2026-01-15", "2026-01-15T09:00:00Z", "2026-01-16T03:00:00Z"},
		{"2026-01-15T08:59:59Z", "daily:2026-01-14", "daily:2026-01-15", "2026-01-15T09:00:00Z", "2026-01-16T03:00:00Z"},
		{"2026-01-15T09:00:00Z", "daily:2026-01-15", "daily:2026-01-15", "2026-01-16T09:00:00Z", "2026-01-16T03:00:00Z"},
		// New York springs forward on 8 March: 04:00 EDT is 08:00Z.
		{"2026-03-08T07:59:00Z", "daily:2026-03-07", "daily:2026-03-08", "2026-03-08T08:00:00Z", "2026-03-09T03:00:00Z"},
		{"2026-03-08T08:00:00Z", "daily:2026-03-08", "daily:2026-03-08", "2026-03-09T08:00:00Z", "2026-03-09T03:00:00Z"},
	}
	seen := map[string][]string{}
	for _, st := range steps {
		f.clock.Set(utc(st.at))
		for _, p := range []struct {
			id        int64
			key, ends string
		}{{ny, st.nyKey, st.nyEnds}, {berlin, st.berlinKey, st.berlinEnd}} {
			v := f.current(p.id)
			if v.Daily == nil || v.Weekly == nil {
				t.Fatalf("%s: sets %+v", st.at, v)
			}
			if v.Daily.Period != p.key || !v.Daily.EndsAt.Equal(utc(p.ends)) {
				t.Fatalf("%s: player %d's daily set is %s ending %s, want %s ending %s", st.at, p.id, v.Daily.Period, v.Daily.EndsAt.UTC(), p.key, p.ends)
			}
			if len(v.Daily.Challenges) != 3 || len(v.Weekly.Challenges) != 2 || v.Daily.RerollsLeft != 1 {
				t.Fatalf("%s: %d daily, %d weekly, %d rerolls", st.at, len(v.Daily.Challenges), len(v.Weekly.Challenges), v.Daily.RerollsLeft)
			}
			// A set, once drawn, is the same set for the whole period.
			k := fmt.Sprint(p.id, p.key)
			if prev, ok := seen[k]; ok && !slices.Equal(prev, drawnIDs(v.Daily)) {
				t.Fatalf("%s: %s changed from %v to %v", st.at, p.key, prev, drawnIDs(v.Daily))
			}
			seen[k] = drawnIDs(v.Daily)
		}
	}
	if v := f.current(berlin); v.Weekly.Period != "weekly:2026-03-02" {
		t.Fatalf("weekly set %s, want weekly:2026-03-02", v.Weekly.Period)
	}
	// A player with no store country is in the default region (Berlin).
	f.clock.Set(utc("2026-01-20T03:30:00Z"))
	if v := f.current(f.player("")); v.Daily.Period != "daily:2026-01-20" {
		t.Fatalf("default region's set %s, want daily:2026-01-20", v.Daily.Period)
	}
}

func TestDrawIsDeterministicWeightedAndWithoutDuplicates(t *testing.T) {
	pool := make([]challenge.Challenge, 10)
	for i := range pool {
		pool[i] = challenge.Challenge{ID: fmt.Sprintf("c%d", i), Weight: 1}
	}
	pool[7].Weight = 1000

	first := challenge.Draw(42, "daily:2026-01-15", "daily", 3, pool, 4)
	for range 5 {
		if again := challenge.Draw(42, "daily:2026-01-15", "daily", 3, pool, 4); !slices.Equal(drawn(again), drawn(first)) {
			t.Fatalf("draws differ: %v and %v", again, first)
		}
	}
	heavy, distinct := 0, map[string]bool{}
	for acc := range int64(300) {
		got := challenge.Draw(acc, "daily:2026-01-15", "daily", 3, pool, 4)
		seen := map[string]bool{}
		for _, c := range got {
			if seen[c.ID] {
				t.Fatalf("account %d drew %s twice: %v", acc, c.ID, got)
			}
			seen[c.ID] = true
		}
		if len(got) != 4 {
			t.Fatalf("drew %d, want 4", len(got))
		}
		if seen["c7"] {
			heavy++
		}
		distinct[fmt.Sprint(drawn(got))] = true
	}
	if heavy < 295 {
		t.Fatalf("the challenge of weight 1000 was drawn for %d of 300 accounts, want nearly all", heavy)
	}
	if len(distinct) < 100 {
		t.Fatalf("only %d distinct sets for 300 accounts", len(distinct))
	}
	// Another period, pool version or account draws differently.
	if slices.Equal(drawn(challenge.Draw(42, "daily:2026-01-16", "daily", 3, pool, 4)), drawn(first)) &&
		slices.Equal(drawn(challenge.Draw(42, "daily:2026-01-15", "daily", 4, pool, 4)), drawn(first)) {
		t.Fatal("the draw does not depend on the period or the pool version")
	}
	// Asking for more than the pool holds draws all of it.
	if got := challenge.Draw(1, "daily:2026-01-15", "daily", 3, pool[:3], 5); len(got) != 3 {
		t.Fatalf("drew %d of a pool of 3", len(got))
	}
}

func drawn(cs []challenge.Challenge) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// TestSetIsKeptWhenThePoolChanges checks that a set drawn once stays as
// drawn (name, goal, reward) when the pool is published again mid-period.
func TestSetIsKeptWhenThePoolChanges(t *testing.T) {
	f := setup(t)
	f.configure(f.bigPool("d", 3), 3, 0, nil, 0, 0)
	a := f.player("FR")
	before := f.current(a)
	changed := f.bigPool("d", 3)
	for i := range changed {
		changed[i].Goal.Target = 100
		changed[i].Name = "Changed"
	}
	f.publish(challenge.KindPool, poolOf(t, f, challenge.Daily), challenge.Pool{Challenges: changed})
	after := f.current(a)
	if after.Weekly != nil {
		t.Fatalf("weekly set %+v with the weekly cadence off", after.Weekly)
	}
	for i, c := range after.Daily.Challenges {
		if c.Goal.Target != before.Daily.Challenges[i].Goal.Target || c.Name == "Changed" {
			t.Fatalf("challenge %s changed with the pool: %+v", c.ID, c)
		}
	}
	// A player drawing after the change gets the new version.
	if got := f.current(f.player("FR")).Daily.Challenges[0]; got.Name != "Changed" {
		t.Fatalf("new player's challenge %+v, want the new version", got)
	}
}

// poolOf returns the pool the published rotation draws cadence c from.
func poolOf(t *testing.T, f *fx, c challenge.Cadence) string {
	t.Helper()
	var id string
	if err := f.conn.Get(&id, `SELECT published->$1->>'pool' FROM content_documents WHERE kind = $2 AND id = $3`, string(c), challenge.KindRotation, challenge.RotationID); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPruneDeletesEndedSets(t *testing.T) {
	f := setup(t)
	f.configure(f.bigPool("d", 5), 3, 2, f.bigPool("w", 3), 1, 0)
	a := f.player("DE")
	f.clock.Set(utc("2026-01-15T12:00:00Z"))
	old := f.current(a)
	if _, err := f.store.Reroll(f.ctx, a, old.Daily.Challenges[0].ID, "p1"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(utc("2026-01-17T12:00:00Z"))
	f.current(a)

	// Everything that ended before 16 January goes: the daily set of the
	// 15th with its challenges and reroll; the weekly set and the 17th's
	// daily set stay.
	n, err := f.store.Prune(f.ctx, utc("2026-01-16T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := f.conn.Select(&left, `SELECT period FROM challenge_sets WHERE account_id = $1 ORDER BY period`, a); err != nil {
		t.Fatal(err)
	}
	var slots, rerolls int
	_ = f.conn.Get(&slots, `SELECT count(*) FROM challenge_slots WHERE account_id = $1 AND period = $2`, a, old.Daily.Period)
	_ = f.conn.Get(&rerolls, `SELECT count(*) FROM challenge_rerolls WHERE account_id = $1`, a)
	if n < 1 || !slices.Equal(left, []string{"daily:2026-01-17", "weekly:2026-01-12"}) || slots != 0 || rerolls != 0 {
		t.Fatalf("pruned %d; left %v with %d slots and %d rerolls of the old set", n, left, slots, rerolls)
	}
}
