package realtime_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/realtime"
	"github.com/musterhq/muster/realtime/protocol"
	"github.com/musterhq/muster/realtime/protocol/pb"
)

// The gateway's series: open connections, and connections it cut off by
// the code it gave them.
func TestMetricsCountConnectionsAndCutOffs(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, realtime.Config{IdleTimeout: time.Second}, func(_ *env, d *realtime.Deps) { d.Metrics = reg })
	// value answers the series of name with label code (if not empty).
	value := func(name, code string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if code != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != code) {
					continue
				}
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		return -1
	}
	// The players exist before either connects (each takes a few
	// database transactions).
	playerA, playerB := e.player(), e.player()
	a, b := e.dial(), e.dial()
	// Both connections are kept alive with heartbeats until the gauge has
	// counted them, however slowly the second handshake goes.
	stop := make(chan struct{})
	var beating sync.WaitGroup
	keepAlive := func(c *client) {
		beating.Add(1)
		go func() {
			defer beating.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				frame, _ := protocol.Append(nil, 0, &pb.Ping{})
				_, _ = c.nc.Write(frame)
			}
		}()
	}
	a.hello(playerA, "", 0)
	keepAlive(a)
	b.hello(playerB, "", 0)
	keepAlive(b)
	waitFor(t, func() bool { return value("muster_realtime_connections", "") == 2 })
	close(stop)
	beating.Wait()
	// Neither sends a heartbeat now: both are cut off for idleness.
	waitFor(t, func() bool { return value("muster_realtime_connections", "") == 0 })
	if n := value("muster_realtime_cut_total", "IDLE_TIMEOUT"); n != 2 {
		t.Fatalf("muster_realtime_cut_total{code=IDLE_TIMEOUT} = %v, want 2", n)
	}
}
