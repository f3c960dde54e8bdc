package store

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's Prometheus series (deploy/prometheus/rules.yaml
// alerts on them).
type metrics struct {
	events   *prometheus.CounterVec // Stripe events received, by how and what became of them
	rejected *prometheus.CounterVec // webhook calls refused before recording
	waiting  prometheus.Gauge       // events recorded and not applied yet
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_store_stripe_events_total",
			Help: "Stripe events received, by path (webhook, reconciliation) and outcome (applied, waiting, duplicate, failed).",
		}, []string{"via", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_store_webhook_rejected_total",
			Help: "Webhook calls refused before recording, by reason (invalid_signature, invalid_payload).",
		}, []string{"reason"}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "muster_store_stripe_events_waiting",
			Help: "Stripe events recorded, not applied to an order yet and still retried (fewer than 50 attempts), as the last reconciliation counted them.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.rejected, m.waiting)
	}
	return m
}

// CountRejectedWebhook counts a webhook call refused before recording.
func (s *Store) CountRejectedWebhook(reason string) { s.metrics.rejected.WithLabelValues(reason).Inc() }
