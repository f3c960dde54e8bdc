package matchmaking

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the matchmaker's Prometheus series. Only the replica that
// holds a queue's lease reports its depth and ticks; every replica says
// whether it holds each published queue.
type metrics struct {
	depth     *prometheus.GaugeVec
	oldest    *prometheus.GaugeVec
	wait      *prometheus.HistogramVec
	matches   *prometheus.CounterVec
	spread    *prometheus.HistogramVec
	imbalance *prometheus.HistogramVec
	tick      *prometheus.HistogramVec
	failures  *prometheus.CounterVec
	held      *prometheus.GaugeVec
	takeovers *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "muster_matchmaking_queue_players",
			Help: "Players waiting in the queue, on the replica holding its lease."}, []string{"queue"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "muster_matchmaking_oldest_wait_seconds",
			Help: "How long the queue's oldest waiting ticket has waited."}, []string{"queue"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "muster_matchmaking_wait_seconds",
			Help:    "How long matched players waited, by queue and region.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600}}, []string{"queue", "region"}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muster_matchmaking_matches_total",
			Help: "Matches formed, by queue, region and whether every seat was taken (full) or the fallback started it (fallback)."}, []string{"queue", "region", "fill"}),
		spread: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "muster_matchmaking_match_spread",
			Help:    "Rating spread (highest - lowest ticket rating) of formed matches.",
			Buckets: []float64{1, 2, 4, 6, 8, 12, 16, 24, 32, 48}}, []string{"queue"}),
		imbalance: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "muster_matchmaking_team_imbalance",
			Help:    "Difference between the highest and lowest team mean rating of formed matches.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 16}}, []string{"queue"}),
		tick: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "muster_matchmaking_tick_seconds",
			Help:    "Time one tick of a held queue takes (lease, new and left tickets, matching, commits), on the replica holding its lease; the count is the ticks.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}}, []string{"queue"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muster_matchmaking_tick_failures_total",
			Help: "Ticks of a queue that failed (the database, or a lost lease's commit), on the replica that tried."}, []string{"queue"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "muster_matchmaking_lease_held",
			Help: "1 on the replica holding the queue's lease (the one matching it), 0 on the others."}, []string{"queue"}),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "muster_matchmaking_lease_takeovers_total",
			Help: "Times this replica started holding the queue's lease (at start, or taking over from another)."}, []string{"queue"}),
	}
	if reg != nil {
		reg.MustRegister(m.depth, m.oldest, m.wait, m.matches, m.spread, m.imbalance, m.tick, m.failures, m.held, m.takeovers)
	}
	return m
}

func (m *metrics) observeMatch(queue string, mt Match, now time.Time) {
	fill := "full"
	if !mt.Full {
		fill = "fallback"
	}
	m.matches.WithLabelValues(queue, mt.Region, fill).Inc()
	m.spread.WithLabelValues(queue).Observe(mt.Spread())
	m.imbalance.WithLabelValues(queue).Observe(mt.Imbalance())
	w := m.wait.WithLabelValues(queue, mt.Region)
	for _, team := range mt.Teams {
		for _, t := range team {
			for range t.Players {
				w.Observe(now.Sub(t.Created).Seconds())
			}
		}
	}
}

func (m *metrics) observeDepth(h *held, now time.Time) {
	players, oldest := 0, 0.0
	for _, t := range h.tickets {
		players += t.Size()
		oldest = max(oldest, now.Sub(t.Created).Seconds())
	}
	m.depth.WithLabelValues(h.id).Set(float64(players))
	m.oldest.WithLabelValues(h.id).Set(oldest)
}

// holding records that this replica holds the queue's lease; taken says
// it has just started to.
func (m *metrics) holding(queue string, taken bool) {
	m.held.WithLabelValues(queue).Set(1)
	if taken {
		m.takeovers.WithLabelValues(queue).Inc()
	}
}

// observeTick records one tick of a held queue that took since start,
// and whether it failed.
func (m *metrics) observeTick(queue string, start time.Time, err error) {
	m.tick.WithLabelValues(queue).Observe(time.Since(start).Seconds())
	if err != nil {
		m.failures.WithLabelValues(queue).Inc()
	}
}

// forget drops what only the holder reports: another replica holds the
// queue (held 0), or it is no longer published (no series at all).
func (m *metrics) forget(queue string, published bool) {
	m.depth.DeleteLabelValues(queue)
	m.oldest.DeleteLabelValues(queue)
	if published {
		m.held.WithLabelValues(queue).Set(0)
	} else {
		m.held.DeleteLabelValues(queue)
	}
}
