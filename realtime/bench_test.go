package realtime_test

import (
	"encoding/json"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/musterhq/muster/domain/party"
	"github.com/musterhq/muster/domain/push"
	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// BenchmarkIdleConnections measures what an authenticated, idle connection
// costs the gateway: b.N players, each with a session of its own, complete
// the handshake, send one heartbeat (Ping, answered by Pong, which
// refreshes the resume token and presence) and stay connected; the heap
// and the goroutine stacks in use grow by heap/conn and stack/conn each
// (bytes/conn is their sum). The test's own client sockets and readers are
// counted too, so the figures are upper bounds. The file-descriptor limit
// bounds b.N: run it with -benchtime 8000x. bench/realtime.sh measures the
// resident memory of real gateway processes.
func BenchmarkIdleConnections(b *testing.B) {
	e := newEnv(b, realtime.Config{})
	players := make([]player, b.N)
	for i := range players {
		players[i] = e.player()
	}
	clients := make([]*client, 0, b.N)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	b.ResetTimer()
	for i := range b.N {
		c := e.dial()
		c.hello(players[i], "", 0)
		clients = append(clients, c)
	}
	b.StopTimer()
	for e.gw.Connections() < b.N {
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range clients {
		c.send(&pb.Ping{Nonce: 1})
		c.expect(&pb.Pong{})
	}
	time.Sleep(100 * time.Millisecond) // the heartbeats' refreshes finish
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapInuse-before.HeapInuse) / float64(b.N)
	stack := float64(after.StackInuse-before.StackInuse) / float64(b.N)
	b.ReportMetric(heap+stack, "bytes/conn")
	b.ReportMetric(heap, "heap/conn")
	b.ReportMetric(stack, "stack/conn")
	b.ReportMetric(float64(1<<30)/(heap+stack), "conns/GiB")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(b.N), "goroutines/conn")
	for _, c := range clients {
		c.send(&pb.Goodbye{})
		c.nc.Close()
	}
}

// BenchmarkPushFanout measures what delivering a push event costs the
// gateway per recipient: 500 connected players, each op one party chat
// line to 100 of them (Gateway.Push, as the push channel's follower calls
// it), read by the test's clients. ns/op divided by 100 is the cost of a
// delivery on both sides of loopback; -cpuprofile shows the gateway's
// share. bench/realtime.sh measures real processes.
func BenchmarkPushFanout(b *testing.B) {
	const conns, recipients = 500, 100
	e := newEnv(b, realtime.Config{SendQueue: 4096, IdleTimeout: time.Hour, Heartbeat: 20 * time.Minute})
	ids := make([]int64, conns)
	var clients []*client
	for i := range conns {
		p := e.player()
		ids[i] = p.id
		c := e.dial()
		c.hello(p, "", 0)
		clients = append(clients, c)
	}
	var got atomic.Int64
	for _, c := range clients {
		go func() {
			for {
				if _, err := c.r.Read(); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	data, _ := json.Marshal(party.ChatLine{PartyID: "pt_1", PlayerID: "p_1", DisplayName: "bench", Text: "gg"})
	b.ResetTimer()
	next := 0
	for range b.N {
		to := make([]int64, recipients)
		for i := range to {
			to[i] = ids[next]
			next = (next + 1) % conns
		}
		e.gw.Push(push.Event{To: to, Kind: party.KindChat, Data: data})
	}
	want := int64(b.N * recipients)
	for end := time.Now().Add(30 * time.Second); got.Load() < want && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got.Load() < want {
		b.Fatalf("delivered %d of %d", got.Load(), want)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}
