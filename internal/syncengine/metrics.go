package syncengine

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus series.
type metrics struct {
	// received counts changes recorded, by direction and kind.
	received *prometheus.CounterVec
	// events counts changes handled by a run, by direction, kind and outcome.
	events *prometheus.CounterVec
	// propagation is the time from a change on one side to its write on
	// the other.
	propagation *prometheus.HistogramVec
	// catches counts runs caused only by reconciliation that wrote
	// something: a change whose webhook never arrived.
	catches prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "asanajira_sync_changes_received_total",
			Help: "Changes recorded by the sync intakes, by direction and kind."}, []string{"direction", "kind"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "asanajira_sync_events_total",
			Help: "Changes handled by sync runs, by direction, kind and outcome (applied, echo, noop, error)."},
			[]string{"direction", "kind", "outcome"}),
		propagation: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "asanajira_sync_propagation_seconds",
			Help:    "Time from a change on one side to the sync write on the other.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600}}, []string{"direction"}),
		catches: prometheus.NewCounter(prometheus.CounterOpts{Name: "asanajira_sync_reconcile_catches_total",
			Help: "Sync runs that only reconciliation caused and that wrote something: changes whose webhook never arrived."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.events, m.propagation, m.catches} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("syncengine: metrics: %w", err)
		}
	}
	return m, nil
}
