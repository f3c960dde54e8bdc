package matchmaking

import (
	"bytes"
	"testing"
	"time"
)

// TestSimulatedHourKeepsPartiesAndWaits replays an hour of a 6v6 queue:
// parties are never split, nearly every player is matched, and 99% of
// players wait less than the queue's maximum wait (a player alone in a
// region at a quiet hour waits for min_players to gather).
func TestSimulatedHourKeepsPartiesAndWaits(t *testing.T) {
	q := Queue{Mode: "tdm_6v6", TeamSize: 6, Teams: 2, Regions: []string{"eu-west", "us-east"}, PartyMin: 1, PartyMax: 4,
		Skill: Widening{Start: 3, PerSecond: 0.2, Max: 20}, Latency: Widening{Start: 60, PerSecond: 1, Max: 120},
		MaxWaitSeconds: 90, Fallback: FallbackBots, MinPlayers: 4}
	rep := Simulate(SimConfig{Queue: q, Duration: time.Hour, PeakPerSecond: 3, Seed: 1})
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.PartiesSplit != 0 {
		t.Fatalf("%d parties split", rep.PartiesSplit)
	}
	if rep.Arrived < 5000 || float64(rep.Matched) < 0.98*float64(rep.Arrived) {
		t.Fatalf("%d of %d players matched", rep.Matched, rep.Arrived)
	}
	if rep.WaitP99 > q.MaxWait() {
		t.Fatalf("p99 wait %s (max wait %s)", rep.WaitP99, q.MaxWait())
	}
}
