package rating_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/economytest"
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
// ratings in a transaction of its own, as the consumer does (claim, create
// or lock 150 rows, read them, rate, write them, commit): from 1 client,
// and from 4 at once (the relay's default workers), each replaying its own
// lobby of players with a new finishing order each match.
func BenchmarkApplyBattleRoyale(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			f := newFixture(b)
			players := make([][]int64, clients)
			rngs := make([]*rand.Rand, clients)
			for c := range players {
				players[c], rngs[c] = f.players(150), rand.New(rand.NewPCG(uint64(c), 1))
			}
			// Drive numbers warm-up matches below zero: 5 per client.
			prefix := fmt.Sprintf("bench-%d-%d", f.serverID, time.Now().UnixNano())
			const q = `INSERT INTO matches (id, server_id, mode, roster, started_at, status, result, reported_at)
				SELECT $1 || '_' || n, $2, 'royale', '{}', now(), 'accepted', '{}', now() FROM generate_series($3::int, $4::int) AS n`
			if _, err := f.conn.Exec(q, prefix, f.serverID, -5*clients, b.N); err != nil {
				b.Fatal(err)
			}
			economytest.Drive(b, clients, 0, func(c int, n int64) error {
				tx, err := f.conn.Beginx()
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if _, err := f.store.Apply(ctx, tx, "royale", "", fmt.Sprintf("%s_%d", prefix, n), royaleOf(rngs[c], players[c])); err != nil {
					return err
				}
				return tx.Commit()
			})
		})
	}
}
