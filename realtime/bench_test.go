package realtime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// BenchmarkIdleConnections measures what an authenticated, idle connection
// costs the gateway: b.N clients complete the handshake and stay connected;
// the heap and goroutine stacks in use grow by bytes/conn each (the test's
// own client sockets included, so the figure is an upper bound). The
// file-descriptor limit bounds b.N: run it with -benchtime 8000x.
func BenchmarkIdleConnections(b *testing.B) {
	e := newEnv(b, realtime.Config{})
	p := e.player()
	clients := make([]*client, 0, b.N)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		c := e.dial()
		c.hello(p, "", 0)
		clients = append(clients, c)
	}
	b.StopTimer()
	for e.gw.Connections() < b.N {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	used := float64((after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse))
	perConn := used / float64(b.N)
	b.ReportMetric(perConn, "bytes/conn")
	b.ReportMetric(float64(1<<30)/perConn, "conns/GiB")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(b.N), "goroutines/conn")
	for _, c := range clients {
		c.send(&pb.Goodbye{})
		c.nc.Close()
	}
}
