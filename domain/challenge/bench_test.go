package challenge_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/challenge"
	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/match"
	"github.com/musterhq/muster/domain/outbox"
)

// BenchmarkApplyMatch applies accepted matches of 100 players each, as the
// relay would: one transaction per match. Each client plays its own lobby
// of 100 players again and again, so after the first match their sets
// exist and every match advances and now and then completes challenges.
//
//	go test -run '^$' -bench ApplyMatch -benchtime 200x ./domain/challenge/
func BenchmarkApplyMatch(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			f := setup(b)
			pool := make([]challenge.Challenge, 30)
			for i := range pool {
				metric := challenge.Metrics()[i%len(challenge.Metrics())]
				pool[i] = ch(fmt.Sprintf("c%02d", i), metric, int64(5+i*3), f.coins(10), func(c *challenge.Challenge) {
					if c.Goal.Metric == challenge.MetricPlacement {
						c.Goal.Placement = 10
					}
				})
			}
			weekly := make([]challenge.Challenge, 10)
			for i := range weekly {
				weekly[i] = ch(fmt.Sprintf("w%02d", i), challenge.MetricKills, int64(50+i*10), f.coins(100))
			}
			f.configure(pool, 4, 2, weekly, 3, 1)
			lobbies := make([][]match.AcceptedPlayer, clients)
			countries := []string{"US", "DE", "", "FR", "CA", "JP"}
			for c := range lobbies {
				for i := range 100 {
					id := economytest.Player(b, f.conn)
					if _, err := f.conn.Exec(`UPDATE accounts SET store_country = NULLIF($2, '') WHERE id = $1`, id, countries[i%len(countries)]); err != nil {
						b.Fatal(err)
					}
					p := played(id, i/2+1, map[string]int64{match.StatKills: int64(i % 7), match.StatDamage: int64(40 * i),
						match.StatAssists: 2, match.StatHeadshots: int64(i % 3), match.StatRevives: 1}, map[string]int64{"smg": int64(i % 4)})
					p.XP = 300
					lobbies[c] = append(lobbies[c], p)
				}
			}
			economytest.Drive(b, clients, 0, func(client int, _ int64) error {
				return applyOnce(f, next("bm"), lobbies[client])
			})
		})
	}
}

func applyOnce(f *fx, id string, players []match.AcceptedPlayer) error {
	ctx := f.ctx
	if _, err := f.conn.ExecContext(ctx, `INSERT INTO matches (id, server_id, mode, roster) VALUES ($1, $2, 'br', '{}')`, id, f.server); err != nil {
		return err
	}
	m := match.Accepted{MatchID: id, Mode: "br", EndedAt: f.clock.Now(), StartedAt: f.clock.Now().Add(-time.Minute), Players: players}
	payload, _ := json.Marshal(m)
	tx, err := f.conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f.store.Consumer().Handle(ctx, tx, outbox.Event{Topic: match.TopicAccepted, Payload: payload}); err != nil {
		return err
	}
	return tx.Commit()
}
