package player_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/player"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// accounts makes n player accounts in one statement (economytest.Player
// makes one at a time, too slowly for a benchmark's hundreds).
func accounts(b *testing.B, conn *sqlx.DB, n int) []int64 {
	b.Helper()
	prefix := economytest.Name("bench")
	var ids []int64
	const q = `INSERT INTO accounts (public_id, display_name, display_name_key)
		SELECT $1 || g, $1 || g, $1 || g FROM generate_series(1, $2) AS g RETURNING id`
	if err := conn.Select(&ids, q, prefix, n); err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkLoginReads reads what a client loads at login (profile,
// loadouts, settings) for players whose documents are cached, from 8
// clients at once, and reports the latency percentiles of one login's
// reads. "database" is the same with no cache, for comparison.
//
//	go test -run '^$' -bench LoginReads -benchtime 20000x ./domain/player/
func BenchmarkLoginReads(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	players := accounts(b, w.conn, 200)
	for _, id := range players {
		if _, err := w.conn.Exec(`INSERT INTO player_profiles (account_id, cosmetics, version) VALUES ($1, '{"banner":"banner.gold"}', 3)`, id); err != nil {
			b.Fatal(err)
		}
		if _, err := w.conn.Exec(`INSERT INTO player_settings (account_id, body, version) VALUES ($1, '{"fov":90,"sens":1.5,"binds":{"jump":"space"}}', 1)`, id); err != nil {
			b.Fatal(err)
		}
		if _, err := w.conn.Exec(`INSERT INTO player_loadouts (account_id, loadout_id, name, slots, version)
			SELECT $1, 'l' || g, 'Loadout ' || g, '{"primary":"weapon.ak","secondary":"weapon.p9","operator":"op.ghost"}', 1
			FROM generate_series(1, 5) g`, id); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		kv   state.KV
	}{{"redis", w.kv}, {"memory", state.NewMemory()}, {"database", nil}} {
		b.Run(c.name, func(b *testing.B) {
			s := player.New(w.conn, c.kv, w.inv, player.Config{Log: quiet, CacheTTL: time.Hour})
			login := func(id int64) error {
				if _, err := s.Profile(ctx, id); err != nil {
					return err
				}
				if _, err := s.Loadouts(ctx, id); err != nil {
					return err
				}
				_, err := s.Settings(ctx, id)
				return err
			}
			for _, id := range players { // warm the cache
				if err := login(id); err != nil {
					b.Fatal(err)
				}
			}
			economytest.Drive(b, 8, 0, func(_ int, n int64) error {
				return login(players[(int(n)%len(players)+len(players))%len(players)])
			})
		})
	}
}

// matchOf is an accepted match of 100 players with every stat reported.
func matchOf(id string, started time.Time, players []int64, n int) match.Accepted {
	classes := []string{"rifle", "smg", "sniper", "shotgun"}
	m := match.Accepted{MatchID: id, Mode: "test", StartedAt: started, EndedAt: started.Add(20 * time.Minute)}
	for i, id := range players {
		kills := int64((i + n) % 15)
		m.Players = append(m.Players, match.AcceptedPlayer{PlayerResult: match.PlayerResult{
			AccountID: id, Team: i/4 + 1, Placement: i/4 + 1,
			Stats: map[string]int64{match.StatKills: kills, match.StatDeaths: 1, match.StatAssists: 2, match.StatDamage: kills * 100,
				match.StatHeadshots: kills / 3, match.StatRevives: 1, match.StatScore: kills * 50, match.StatSecondsPlayed: 1200},
			KillsByClass: map[string]int64{classes[i%4]: kills},
		}, Won: i < 4})
	}
	return m
}

// BenchmarkApplyMatch applies accepted matches of 100 players to stats,
// each in its own transaction as the relay runs it, from 4 workers at once
// (the relay's several delivery workers), and reports matches per second
// and the latency of applying one whole match. Each worker's matches have
// their own 100 players, as concurrent matches do.
//
//	go test -run '^$' -bench ApplyMatch -benchtime 400x ./domain/player/
func BenchmarkApplyMatch(b *testing.B) {
	const workers, perMatch, warmUp = 4, 100, 5
	w := newWorld(b)
	ctx := context.Background()
	players := accounts(b, w.conn, workers*perMatch)
	tag := economytest.Name("bench")
	var ids []string
	for n := -workers * warmUp; n <= b.N; n++ {
		ids = append(ids, fmt.Sprintf("%s-%d", tag, n))
	}
	started := time.Now().Add(-time.Hour)
	openMatches(b, w.conn, started, ids...)
	economytest.Drive(b, workers, 0, func(worker int, n int64) error {
		m := matchOf(fmt.Sprintf("%s-%d", tag, n), started, players[worker*perMatch:(worker+1)*perMatch], int(n))
		tx, err := w.conn.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := player.ApplyMatch(ctx, tx, m); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// BenchmarkStatsThroughRelay enqueues b.N accepted matches of 100 players
// as match.accepted events and times the outbox relay delivering them all
// to the stats consumer from 4 goroutines: the whole path a match takes
// (claiming the delivery, the handler, marking it delivered). ns/op is
// wall time per match; ops/s is matches per second.
//
//	go test -run '^$' -bench StatsThroughRelay -benchtime 400x ./domain/player/
func BenchmarkStatsThroughRelay(b *testing.B) {
	const workers, perMatch = 4, 100
	w := newWorld(b)
	ctx := context.Background()
	players := accounts(b, w.conn, workers*perMatch)
	relay := outbox.NewRelay(w.conn, testenv.DBURL(b), quiet, prometheus.NewRegistry(), outbox.Config{})
	if err := relay.Register(ctx, w.store(player.Config{}).StatsConsumer()); err != nil {
		b.Fatal(err)
	}
	tag := economytest.Name("relay")
	started := time.Now().Add(-time.Hour)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", tag, i)
	}
	openMatches(b, w.conn, started, ids...)
	for i, id := range ids {
		enqueue(b, w.conn, matchOf(id, started, players[(i%workers)*perMatch:(i%workers+1)*perMatch], i))
	}
	b.ResetTimer()
	begin := time.Now()
	errs := make(chan error, workers)
	for range workers {
		go func() {
			_, err := relay.DeliverDue(ctx)
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	var applied int
	if err := w.conn.Get(&applied, `SELECT count(*) FROM match_applications WHERE consumer = $1 AND match_id LIKE $2 || '-%'`, player.StatsConsumerName, tag); err != nil {
		b.Fatal(err)
	}
	if applied != b.N {
		b.Fatalf("%d of %d matches applied", applied, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}
