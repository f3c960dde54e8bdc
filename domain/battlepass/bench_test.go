package battlepass_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
)

// benchPlayers is how many players the benchmark's matches draw from; a
// match takes the next 100 of them, so matches running together never
// share a player, as in a real game.
const (
	benchPlayers = 1000
	matchSize    = 100
	benchClients = 4
)

// benchMatches sets up a running pass of 100 tiers of 1000 XP (the
// fixture's rewards on both tracks) and 1000 players, a third of them
// premium, and returns a function that applies match n: 100 players with
// 300 to 1500 XP each, so that about half of them reach a tier.
func benchMatches(b *testing.B) func(client int, n int64) error {
	f := newFixture(b)
	d := f.doc(100)
	d.XPPerTier = 1000
	s := f.season(-24*time.Hour, 30*24*time.Hour)
	f.pass(s, d)
	players := make([]int64, benchPlayers)
	for i := range players {
		players[i] = f.player()
		if i%3 == 0 {
			f.fund(players[i], f.gems, 500)
			if _, err := f.bp.Upgrade(ctx, players[i], s.ID, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Match rows for every operation Drive runs, warm-up included.
	prefix := fmt.Sprintf("bench-%d-", f.serverID)
	const q = `INSERT INTO matches (id, server_id, mode, roster, started_at, status, result, reported_at)
		SELECT $1 || n, $2, 'test', '{}', $3, 'accepted', '{}', now() FROM generate_series($4::bigint, $5::bigint) n`
	if _, err := f.conn.Exec(q, prefix, f.serverID, f.clock.Now(), -benchClients*5, b.N); err != nil {
		b.Fatal(err)
	}
	handle := f.bp.Consumer().Handle
	return func(_ int, n int64) error {
		m := match.Accepted{MatchID: fmt.Sprintf("%s%d", prefix, n), Mode: "test", StartedAt: f.clock.Now(), EndedAt: f.clock.Now()}
		first := int((n + benchClients*5) * matchSize % benchPlayers)
		for i := range matchSize {
			id := players[(first+i)%benchPlayers]
			m.Players = append(m.Players, match.AcceptedPlayer{PlayerResult: match.PlayerResult{AccountID: id, Team: 1 + i%2, Placement: 1 + i%2},
				XP: 300 + rand.Int64N(1200)})
		}
		payload, err := json.Marshal(m)
		if err != nil {
			return err
		}
		tx, err := f.conn.Beginx()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		ev := outbox.Event{ID: economytest.Name("ev"), Topic: match.TopicAccepted, Payload: payload, CreatedAt: f.clock.Now()}
		if err := handle(ctx, tx, ev); err != nil {
			return err
		}
		return tx.Commit()
	}
}

// BenchmarkMatch100Players applies matches of 100 players as fast as four
// relay workers would (closed loop): matches/s is the throughput.
func BenchmarkMatch100Players(b *testing.B) {
	op := benchMatches(b)
	economytest.Drive(b, benchClients, 0, op)
}

// BenchmarkMatch100PlayersAt20PerSecond applies 20 matches of 100 players a
// second (open loop): the latencies are each match's, from its scheduled
// start to its commit, against the 200 ms goal.
func BenchmarkMatch100PlayersAt20PerSecond(b *testing.B) {
	op := benchMatches(b)
	economytest.Drive(b, benchClients, 20, op)
}
