package rating_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/rating"
)

// royaleOf is a 150-player battle royale (36 quads and 2 trios) of the
// given players in a random finishing order.
func royaleOf(rng *rand.Rand, ps []int64) []rating.Team {
	teams := make([]rating.Team, 38)
	for i, place := range rng.Perm(38) {
		n := 4
		if i >= 36 {
			n = 3
		}
		teams[i] = rating.Team{Players: ps[:n], Placement: place + 1}
		ps = ps[n:]
	}
	return teams
}

// BenchmarkApplyBattleRoyale applies a 150-player, 38-team match to the
// ratings in a transaction of its own, as the consumer does (claim, lock
// or create 150 rows, read them, rate, write them): one match at a time,
// and from 4 workers at once (the relay's default) with players of their
// own.
func BenchmarkApplyBattleRoyale(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			f := newFixture(b)
			players := make([][]int64, workers)
			for w := range players {
				players[w] = f.players(150)
			}
			prefix := fmt.Sprintf("bench-%d-%d", f.serverID, time.Now().UnixNano())
			const q = `INSERT INTO matches (id, server_id, mode, roster, started_at, status, result, reported_at)
				SELECT $1 || '-' || n, $2, 'royale', '{}', now(), 'accepted', '{}', now() FROM generate_series(1, $3) AS n`
			if _, err := f.conn.Exec(q, prefix, f.serverID, b.N); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						tx, err := f.conn.Beginx()
						if err != nil {
							b.Error(err)
							return
						}
						_, err = f.store.Apply(ctx, tx, "royale", "", fmt.Sprintf("%s-%d", prefix, n), royaleOf(rng, players[w]))
						if err == nil {
							err = tx.Commit()
						}
						if err != nil {
							tx.Rollback()
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
		})
	}
}
