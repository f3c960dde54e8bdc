package matchmaking

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func quads() *Queue {
	return &Queue{Mode: "br_quads", TeamSize: 4, Teams: 38, Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 4,
		Skill:          Widening{Start: 3, PerSecond: 0.5, Max: 40},
		Latency:        Widening{Start: 60, PerSecond: 2, Max: 150},
		MaxWaitSeconds: 120, Fallback: FallbackBots, MinPlayers: 1}
}

// ticket makes a ticket of size players rated r, waiting since created.
func ticket(id string, size int, r float64, created time.Time, lat map[string]int) *Ticket {
	t := &Ticket{ID: id, Rating: r, Created: created, Latency: lat}
	for i := range size {
		t.Players = append(t.Players, Player{AccountID: int64(len(id)*1000 + i), PlayerID: fmt.Sprintf("%s-%d", id, i), Ticket: id})
	}
	return t
}

var euOnly = map[string]int{"eu-west": 30, "us-east": 160}

// randomPool is n tickets of mixed party sizes and normal ratings.
func randomPool(rng *rand.Rand, n int, created time.Time) []*Ticket {
	sizes := []int{1, 1, 1, 1, 2, 2, 3, 4}
	out := make([]*Ticket, n)
	for i := range out {
		out[i] = ticket(fmt.Sprintf("t%d", i), sizes[rng.IntN(len(sizes))], 25+8*rng.NormFloat64(),
			created.Add(-time.Duration(rng.IntN(60_000))*time.Millisecond), euOnly)
	}
	return out
}

// checkMatches checks that every match keeps each ticket whole on one team,
// never exceeds a team's size, and uses a ticket at most once.
func checkMatches(t *testing.T, q *Queue, ms []Match) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range ms {
		if len(m.Teams) != q.Teams {
			t.Fatalf("%d teams, want %d", len(m.Teams), q.Teams)
		}
		for _, team := range m.Teams {
			n := 0
			for _, tk := range team {
				if seen[tk.ID] {
					t.Fatalf("ticket %s matched twice", tk.ID)
				}
				seen[tk.ID] = true
				n += tk.Size()
			}
			if n > q.TeamSize {
				t.Fatalf("a team of %d players, team size %d", n, q.TeamSize)
			}
		}
		if m.Full && m.Players() != q.Slots() {
			t.Fatalf("a full match of %d players", m.Players())
		}
	}
}

// TestPartiesStayTogether: with many mixed parties, every match is full,
// every party (ticket) plays on one team, and nothing is matched twice.
func TestPartiesStayTogether(t *testing.T) {
	q := quads()
	rng := rand.New(rand.NewPCG(1, 2))
	pool := randomPool(rng, 5000, t0)
	ms := q.Tick("eu-west", pool, t0)
	if len(ms) < 10 {
		t.Fatalf("only %d matches from 5000 tickets", len(ms))
	}
	checkMatches(t, q, ms)
	for _, m := range ms {
		if !m.Full {
			t.Fatal("a fallback match before anyone waited long")
		}
		if m.Spread() > 2*q.Skill.Max {
			t.Fatalf("spread %.1f", m.Spread())
		}
	}
	// A party of four always fills one team on its own.
	four := ticket("party4", 4, 25, t0.Add(-time.Hour), euOnly)
	ms = q.Tick("eu-west", append(randomPool(rng, 3000, t0), four), t0)
	checkMatches(t, q, ms)
	found := false
	for _, m := range ms {
		for _, team := range m.Teams {
			for _, tk := range team {
				if tk == four {
					found = len(team) == 1
				}
			}
		}
	}
	if !found {
		t.Fatal("the party of four (oldest ticket) was not matched alone on its team")
	}
}

// TestLonePlayerFallsBackAfterMaxWait: a player alone in a region waits;
// at the queue's maximum wait the fallback starts their match with bots.
func TestLonePlayerFallsBackAfterMaxWait(t *testing.T) {
	q := quads()
	lone := ticket("lone", 1, 25, t0, map[string]int{"us-east": 40})
	if ms := q.Tick("us-east", []*Ticket{lone}, t0.Add(q.MaxWait()-time.Second)); len(ms) != 0 {
		t.Fatalf("matched before the maximum wait: %+v", ms)
	}
	ms := q.Tick("us-east", []*Ticket{lone}, t0.Add(q.MaxWait()))
	if len(ms) != 1 || ms[0].Full || ms[0].Players() != 1 || ms[0].Region != "us-east" {
		t.Fatalf("fallback: %+v", ms)
	}
	q.Fallback = FallbackNone
	if ms := q.Tick("us-east", []*Ticket{lone}, t0.Add(time.Hour)); len(ms) != 0 {
		t.Fatal("matched with fallback none")
	}
}

// TestSkillSpreadWidensWithWait: two groups of players far apart in rating
// are not mixed until the oldest has waited long enough.
func TestSkillSpreadWidensWithWait(t *testing.T) {
	q := &Queue{TeamSize: 1, Teams: 4, Regions: []string{"eu-west"}, PartyMin: 1, PartyMax: 1,
		Skill: Widening{Start: 2, PerSecond: 1, Max: 30}, MaxWaitSeconds: 600, Fallback: FallbackNone}
	pool := []*Ticket{
		ticket("a1", 1, 10, t0, euOnly), ticket("a2", 1, 11, t0, euOnly),
		ticket("b1", 1, 30, t0, euOnly), ticket("b2", 1, 31, t0, euOnly),
	}
	if ms := q.Tick("eu-west", pool, t0.Add(5*time.Second)); len(ms) != 0 {
		t.Fatalf("players 20 apart matched after 5s (spread 7): %+v", ms)
	}
	ms := q.Tick("eu-west", pool, t0.Add(20*time.Second))
	if len(ms) != 1 || !ms[0].Full {
		t.Fatalf("after 20s (spread 22): %+v", ms)
	}
}

// TestRegionsWidenWithWait: a player far from a region joins its matches
// only once the latency limit has grown to reach them.
func TestRegionsWidenWithWait(t *testing.T) {
	q := &Queue{TeamSize: 1, Teams: 2, Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 1,
		Skill: Widening{Start: 50, Max: 50}, Latency: Widening{Start: 60, PerSecond: 5, Max: 200},
		MaxWaitSeconds: 600, Fallback: FallbackNone}
	us := ticket("us", 1, 25, t0, map[string]int{"us-east": 20})
	eu := ticket("eu", 1, 25, t0, map[string]int{"eu-west": 30, "us-east": 110})
	if ms := q.Tick("us-east", []*Ticket{us, eu}, t0.Add(5*time.Second)); len(ms) != 0 {
		t.Fatal("a player 110 ms away matched in us-east at a limit of 85 ms")
	}
	if ms := q.Tick("us-east", []*Ticket{us, eu}, t0.Add(11*time.Second)); len(ms) != 1 {
		t.Fatal("not matched once the limit (115 ms) reached the player")
	}
}

// TestTeamsAreBalanced: solo players of spread ratings split into two teams
// of close mean ratings.
func TestTeamsAreBalanced(t *testing.T) {
	q := &Queue{TeamSize: 6, Teams: 2, Regions: []string{"eu-west"}, PartyMin: 1, PartyMax: 6,
		Skill: Widening{Start: 100, Max: 100}, MaxWaitSeconds: 600, Fallback: FallbackNone}
	var pool []*Ticket
	for i := range 12 {
		pool = append(pool, ticket(fmt.Sprintf("s%d", i), 1, float64(10+3*i), t0, euOnly))
	}
	ms := q.Tick("eu-west", pool, t0)
	if len(ms) != 1 {
		t.Fatalf("%d matches", len(ms))
	}
	if im := ms[0].Imbalance(); im > 1.5 {
		t.Fatalf("imbalance %.2f between team means (ratings 10..43)", im)
	}
}

// BenchmarkTick100k is one tick of a quads queue with 100,000 waiting
// tickets in one region (goal: under 100 ms on one core).
func BenchmarkTick100k(b *testing.B) {
	q := quads()
	rng := rand.New(rand.NewPCG(7, 8))
	pool := randomPool(rng, 100_000, t0)
	b.ReportAllocs()
	b.ResetTimer()
	var ms []Match
	for range b.N {
		ms = q.Tick("eu-west", pool, t0)
		if len(ms) == 0 {
			b.Fatal("no matches")
		}
	}
	players, spread, imbalance := 0, 0.0, 0.0
	for _, m := range ms {
		players += m.Players()
		spread += m.Spread()
		imbalance += m.Imbalance()
	}
	b.ReportMetric(float64(len(ms)), "matches/tick")
	b.ReportMetric(float64(players), "players/tick")
	b.ReportMetric(spread/float64(len(ms)), "mean-spread")
	b.ReportMetric(imbalance/float64(len(ms)), "mean-imbalance")
}
