package notify_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/musterhq/muster/domain/economytest"
	"github.com/musterhq/muster/domain/notify"
	"github.com/musterhq/muster/domain/outbox"
	"github.com/musterhq/muster/domain/progression"
	"github.com/musterhq/muster/domain/state"
	"github.com/musterhq/muster/test/testenv"
)

// BenchmarkMatchLevelUps is a 100-player match's level-ups (100
// progression.level_up events written in one statement) stored by the
// consumer ("store": 100 deliveries) and also published on Redis by the
// publisher ("publish": 200 deliveries), 4 delivery goroutines as the relay
// runs them. One op is one match.
//
//	go test -run '^$' -bench MatchLevelUps -benchtime 20x ./domain/notify
func BenchmarkMatchLevelUps(b *testing.B) {
	b.Run("store", func(b *testing.B) { benchLevelUps(b, nil) })
	b.Run("publish", func(b *testing.B) {
		client, prefix := testenv.Redis(b)
		benchLevelUps(b, state.NewRedis(client, prefix))
	})
}

func benchLevelUps(b *testing.B, ps state.PubSub) {
	p := newPipeline(b, ps, notify.Config{})
	// Deliveries the other sub-benchmark left to a consumer not running here.
	if _, err := p.conn.Exec(`UPDATE outbox_deliveries SET state = 'delivered' WHERE state = 'pending'`); err != nil {
		b.Fatal(err)
	}
	players := make([]progression.LevelUp, 100)
	for i := range players {
		players[i] = progression.LevelUp{AccountID: economytest.Player(b, p.conn), Level: 2}
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		p.enqueue(func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := outbox.EnqueueMany(ctx, tx, progression.TopicLevelUp, players)
			return err
		})
		for {
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := p.relay.DeliverDue(ctx)
					if err != nil {
						b.Error(err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}()
			}
			wg.Wait()
			if total == 0 {
				break
			}
		}
	}
	b.StopTimer()
	var stored int
	if err := p.conn.Get(&stored, `SELECT count(*) FROM notifications WHERE account_id = $1`, players[0].AccountID); err != nil || stored != b.N {
		b.Fatalf("player 0 has %d notifications after %d matches (%v)", stored, b.N, err)
	}
}

// BenchmarkAdd stores notifications in transactions of their own: one for
// one player, or one each for 100 players in one statement. One op is one
// transaction.
//
//	go test -run '^$' -bench Add ./domain/notify
func BenchmarkAdd(b *testing.B) {
	s, conn := newStore(b)
	players := make([]int64, 100)
	for i := range players {
		players[i] = economytest.Player(b, conn)
	}
	for _, size := range []int{1, 100} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			in := make([]notify.New, size)
			for i := range in {
				in[i] = notify.New{AccountID: players[i], Kind: notify.KindLevelUp, Payload: notify.LevelUpPayload{Level: 7}}
			}
			for range b.N {
				add(b, s, conn, in...)
			}
		})
	}
}
