package realtime

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/musterhq/muster/realtime/protocol"
)

// metrics are the gateway's Prometheus series; a nil *metrics counts
// nothing (no registerer given).
type metrics struct {
	cut       *prometheus.CounterVec // connections ended by the server, by error code
	delivered *prometheus.CounterVec // frames queued for clients, by kind
}

// newMetrics registers the gateway's series on reg, the connection count
// read from g when scraped.
func newMetrics(reg prometheus.Registerer, g *Gateway) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		cut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muster_realtime_cut_total",
			Help: "Realtime connections the gateway ended with a fatal error, by its code (SLOW_CONSUMER, IDLE_TIMEOUT, TOKEN_EXPIRED, ...)."}, []string{"code"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muster_realtime_delivered_total",
			Help: "Notifications (stored) and pushes (party, presence, chat) queued for realtime connections."}, []string{"kind"}),
	}
	connections := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "muster_realtime_connections",
		Help: "Realtime connections open on this gateway."}, func() float64 { return float64(g.Connections()) })
	reg.MustRegister(m.cut, m.delivered, connections)
	return m
}

func (m *metrics) cutOff(code protocol.Code) {
	if m != nil {
		m.cut.WithLabelValues(code.String()).Inc()
	}
}

func (m *metrics) deliver(kind string, n int) {
	if m != nil && n > 0 {
		m.delivered.WithLabelValues(kind).Add(float64(n))
	}
}
