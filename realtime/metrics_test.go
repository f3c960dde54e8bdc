package realtime_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/realtime"
)

// The gateway's series: open connections, and connections it cut off by
// the code it gave them.
func TestMetricsCountConnectionsAndCutOffs(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, realtime.Config{IdleTimeout: 300 * time.Millisecond}, func(_ *env, d *realtime.Deps) { d.Metrics = reg })
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
	a, b := e.dial(), e.dial()
	a.hello(e.player(), "", 0)
	b.hello(e.player(), "", 0)
	waitFor(t, func() bool { return value("muster_realtime_connections", "") == 2 })
	// Neither sends a heartbeat: both are cut off for idleness.
	waitFor(t, func() bool { return value("muster_realtime_connections", "") == 0 })
	if n := value("muster_realtime_cut_total", "IDLE_TIMEOUT"); n != 2 {
		t.Fatalf("muster_realtime_cut_total{code=IDLE_TIMEOUT} = %v, want 2", n)
	}
}
